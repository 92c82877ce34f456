//! Arbitrary bytes through every discovery connector, and the result into the graph: each either
//! succeeds or returns an error, never panics; what succeeds builds a graph whose every blast
//! radius and tier can be computed.
#![no_main]

use holdfast_discover::{Connector, Input, Options, discover, graph};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let connector = Connector::ALL[usize::from(selector) % Connector::ALL.len()];
    let name = match connector {
        Connector::GithubActions => "repo/.github/workflows/fuzz.yml",
        Connector::Env if selector & 0x80 != 0 => "docker-compose.yml",
        Connector::Env => ".env",
        _ => "fuzz.yaml",
    };
    let inputs = [Input { name: name.to_string(), bytes: rest.to_vec() }];
    if let Ok(d) = discover(connector, &inputs, &Options::default())
        && let Ok(g) = graph(std::slice::from_ref(&d))
    {
        for (id, _) in g.nodes().take(64) {
            let _ = g.tier(id);
            let _ = g.blast_radius(id, 8);
        }
    }
});
