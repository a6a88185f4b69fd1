//! Planning: hosts x tasks, variables with precedence, strict templates.
