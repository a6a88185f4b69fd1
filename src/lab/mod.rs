//! `baton lab`: a local network of real SSH hosts built from network namespaces.
