//! The TLS roots of every outgoing connection (AWS and iProov), compiled in.
//!
//! Why not the system's store: by default HTTP stacks load it at start — the SDK's client through
//! `rustls-native-certs`, a typical HTTP client through the platform verifier — and each load
//! reads the bundle *and* every file of the certificate directory and parses all of them. That
//! was most of every function's init time, paid twice by the functions with an iProov client.
//! Mozilla's root set (`webpki-root-certs`, what the system bundles are built from too) needs no
//! file I/O, and `build.rs` prepares it at build time in the two forms the stacks take (PEM for
//! the SDK, which parses it once on its first connection; ready trust anchors for rustls).
//! Verification is unchanged: full chain and host name checks by rustls/webpki, only the source
//! of the trust anchors differs. The set is updated by updating the crate (a rebuild), not by the
//! OS image.
//!
//! A private CA (iProov reached through the customer's own TLS reverse proxy, say) is added with
//! `TLS_EXTRA_ROOTS_FILE`: a PEM file in the deployment package or a layer, trusted on top of
//! Mozilla's set by both stacks. Unset, nothing is read.

use std::sync::{Arc, OnceLock};

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Mozilla's roots as rustls trust anchors and as one PEM bundle, both prepared by `build.rs`.
mod compiled {
    use rustls::pki_types::{Der, TrustAnchor};

    include!(concat!(env!("OUT_DIR"), "/root_anchors.rs"));

    pub(crate) static ROOTS_PEM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/roots.pem"));
}

/// The root store of the iProov client, built once per process: the compiled-in anchors (no
/// certificate parsing) plus those of `TLS_EXTRA_ROOTS_FILE`.
fn roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore {
                roots: compiled::ROOT_ANCHORS.to_vec(),
            };
            let extra: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(extra_roots_pem())
                    .filter_map(Result::ok)
                    .collect();
            roots.add_parsable_certificates(extra);
            Arc::new(roots)
        })
        .clone()
}

/// The rustls configuration of the iProov client's transport (the `iproov-client` crate takes
/// it from its caller, `wiring::iproov_client`): aws-lc, TLS 1.2 and 1.3, the compiled-in
/// roots, no client certificate.
pub fn client_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc supports the default protocol versions")
    .with_root_certificates(roots())
    .with_no_client_auth()
}

/// The HTTP client for every AWS SDK client: the SDK's own default (hyper, rustls with aws-lc,
/// proxy settings from the environment), with the compiled-in roots instead of the system's.
/// Its connector — and so the root parsing — is built on the first request, once.
pub fn aws_http_client() -> SharedHttpClient {
    SharedHttpClient::new(ConnectorOnFirstRequest(hyper_client()))
}

/// The SDK's hyper client, minus one eager step: by default it builds (and throws away) a
/// connector every time an SDK client is created (`validate_base_client_config`), so that
/// system roots load at start. With roots that are compiled in there is nothing to preload, and
/// each throwaway connector re-reads the whole PEM trust store (≈ 1 ms per client here, four to
/// six clients per function: docs/performance.md). The connector is still built once per
/// process, on the first request, and cached by the inner client as before.
#[derive(Debug)]
struct ConnectorOnFirstRequest(SharedHttpClient);

impl HttpClient for ConnectorOnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

fn hyper_client() -> SharedHttpClient {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(roots_pem());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a trust store without extra server names is always valid");
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut builder = aws_smithy_http_client::ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(context.clone());
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(aws_smithy_http_client::proxy::ProxyConfig::from_env()));
        builder.build()
    })
}

/// The compiled-in roots as one PEM bundle (the form the SDK's trust store takes), plus those
/// of `TLS_EXTRA_ROOTS_FILE`.
fn roots_pem() -> Vec<u8> {
    let extra = extra_roots_pem();
    let mut pem = Vec::with_capacity(compiled::ROOTS_PEM.len() + extra.len());
    pem.extend_from_slice(compiled::ROOTS_PEM);
    pem.extend_from_slice(extra);
    pem
}

/// The PEM text of `TLS_EXTRA_ROOTS_FILE`, read once; empty when unset. An unreadable file or
/// one without a certificate is logged (by variable name) and ignored: the compiled-in roots
/// still work, and a host that needs the private CA fails its TLS handshake visibly.
fn extra_roots_pem() -> &'static [u8] {
    static EXTRA: OnceLock<Vec<u8>> = OnceLock::new();
    EXTRA.get_or_init(|| {
        let Some(path) = crate::env::optional("TLS_EXTRA_ROOTS_FILE") else {
            return Vec::new();
        };
        match std::fs::read(&path) {
            Ok(pem) if CertificateDer::pem_slice_iter(&pem).any(|c| c.is_ok()) => pem,
            Ok(_) => {
                tracing::error!("TLS_EXTRA_ROOTS_FILE holds no PEM certificate; ignored");
                Vec::new()
            }
            Err(err) => {
                tracing::error!(error = %err.kind(), "TLS_EXTRA_ROOTS_FILE unreadable; ignored");
                Vec::new()
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_anchors_are_mozillas_roots_as_rustls_parses_them() {
        // given Mozilla's root certificates, parsed the way rustls does at run time
        let mut parsed = RootCertStore::empty();
        let (added, ignored) =
            parsed.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec());
        // when the store is built from the anchors build.rs extracted
        let roots = roots();
        // then it holds the same anchors, in order, and none was dropped
        assert!(
            added > 100 && ignored == 0,
            "{added} added, {ignored} ignored"
        );
        // (first: a TLS_EXTRA_ROOTS_FILE in the test environment would add its own after them)
        assert_eq!(roots.roots[..parsed.roots.len()], parsed.roots[..]);
    }

    #[test]
    fn the_pem_bundle_holds_exactly_the_compiled_in_roots() {
        // given the bundle handed to the SDK
        let pem = roots_pem();
        // when it is read back as the SDK reads it
        let ders: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .unwrap();
        // then it is the same certificates, in order, each one a valid trust anchor
        assert_eq!(ders.as_slice(), webpki_root_certs::TLS_SERVER_ROOT_CERTS);
        let mut store = RootCertStore::empty();
        for der in ders {
            store.add(der).unwrap();
        }
    }

    #[test]
    fn the_client_configuration_fits_the_iproov_transport() {
        // given the configuration for the iProov client
        let config = client_config();
        // then it presents no client certificate
        assert!(!config.client_auth_cert_resolver.has_certs());
        // and the client's transport takes it as is, as the functions build it
        let credentials = iproov_client::IProovCredentials {
            api_key: String::new(),
            secret: String::new(),
            oauth_client_id: String::new(),
            oauth_client_secret: String::new(),
        };
        let _client = crate::wiring::iproov_client(
            iproov_client::IProovConfig::new("https://iproov.example/api/v2", "tls-test"),
            Arc::new(iproov_client::StaticCredentials::new(credentials)),
        )
        .unwrap();
    }
}
