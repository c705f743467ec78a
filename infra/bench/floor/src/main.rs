//! The floor function of `make bench`: an empty `lambda_http` handler on the same runtime
//! (`#[tokio::main(flavor = "current_thread")]`) and release profile as the real functions.
//! Whatever a real function costs above this is its own doing; whatever this costs is Lambda's
//! runtime protocol and the process.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::Empty))
    }))
    .await
}
