//! HTTP from the host: downloads (get_url) and requests (uri), both through
//! the host's `curl`.

// pub mod get_url;
// pub mod uri;
