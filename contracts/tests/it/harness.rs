//! The anvil harness itself: clear errors, and the process dies with its handle.

use lanes_contracts::{
    Error,
    anvil::{Anvil, AnvilConfig},
};
use std::net::TcpStream;

#[test]
fn missing_binary_says_run_setup() {
    let cfg = AnvilConfig {
        binary: Some("/nonexistent/anvil".into()),
        ..Default::default()
    };
    let err = Anvil::spawn_with(&cfg).unwrap_err();
    assert!(matches!(err, Error::AnvilMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("run scripts/setup.sh"), "{err}");
}

#[test]
fn bad_arguments_report_the_exit() {
    let cfg = AnvilConfig {
        extra_args: vec!["--no-such-flag".into()],
        ..Default::default()
    };
    let err = Anvil::spawn_with(&cfg).unwrap_err();
    assert!(
        matches!(&err, Error::AnvilNotReady { reason, .. } if reason.contains("exited")),
        "{err:?}"
    );
}

#[test]
fn killed_on_drop() {
    let anvil = Anvil::spawn_with(&AnvilConfig {
        chain_id: Some(4242),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(anvil.chain_id(), 4242);
    let port = anvil.port();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(anvil);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
