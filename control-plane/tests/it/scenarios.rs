//! What a user of the REST API checks, one scenario per function, in one
//! module per part of the API.

mod access;
mod billing;
mod conventions;
mod credentials;
mod identity;
mod instances;
mod mappings;
mod operator;

pub use access::*;
pub use billing::*;
pub use conventions::*;
pub use credentials::*;
pub use identity::*;
pub use instances::*;
pub use mappings::*;
pub use operator::*;
