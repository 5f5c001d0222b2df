//! scripts/bench's floor: a Compute service that does nothing but answer 200 "ok".

use fastly::{Error, Request, Response};

#[fastly::main]
fn main(_req: Request) -> Result<Response, Error> {
    Ok(Response::from_body("ok"))
}
