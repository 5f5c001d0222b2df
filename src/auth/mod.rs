//! Who may do what.
//!
//! * `grip_sig`: only Fanout's signed call-backs get GRIP instructions.
//! * `csrf`: a page on another site cannot make a visitor's browser change anything here.

pub mod csrf;
pub mod grip_sig;
#[cfg(test)]
mod props;
