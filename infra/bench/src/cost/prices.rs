//! The prices file (`infra/bench/prices/<region>.json`): every unit price the model uses, each
//! with its source and the date it was read. The model refuses a file that lacks one.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::rules::Line;
use crate::Error;

/// The file the bench prices with.
pub const FILE: &str = "infra/bench/prices/eu-west-1.json";

#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    pub region: String,
    pub architecture: String,
    pub currency: String,
    pub read_on: String,
    pub note: String,
    pub prices: BTreeMap<String, Price>,
}

/// `usd` for `per` units.
#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    pub usd: f64,
    pub per: f64,
    pub unit: String,
    pub source: String,
    pub read_on: String,
    pub region_specific: bool,
    #[serde(default)]
    pub note: String,
}

impl Price {
    /// Dollars for one unit.
    pub fn per_unit(&self) -> f64 {
        self.usd / self.per
    }
}

impl Prices {
    /// Parses the file and checks it prices every line.
    pub fn parse(text: &str) -> Result<Prices, Error> {
        let prices: Prices = serde_json::from_str(text)?;
        for line in Line::ALL {
            let Some(p) = prices.prices.get(line.price_key()) else {
                return Err(format!("the prices file has no {}", line.price_key()).into());
            };
            if !(p.per > 0.0 && p.usd >= 0.0) {
                return Err(format!("{}: usd ≥ 0 and per > 0 expected", line.price_key()).into());
            }
        }
        Ok(prices)
    }

    pub fn of(&self, line: Line) -> &Price {
        &self.prices[line.price_key()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_prices_file_prices_every_line_with_its_source_and_date() {
        // given the committed prices file
        let text = include_str!("../../prices/eu-west-1.json");

        // when it is parsed
        let prices = Prices::parse(text).expect("a complete prices file");

        // then every line has a price, an AWS pricing page and the date it was read
        assert_eq!(
            (prices.region.as_str(), prices.architecture.as_str()),
            ("eu-west-1", "arm64")
        );
        for line in Line::ALL {
            let p = prices.of(line);
            assert!(
                p.source.starts_with("https://aws.amazon.com/"),
                "{}",
                line.price_key()
            );
            assert_eq!(p.read_on, prices.read_on);
        }
        assert_eq!(prices.of(Line::LambdaGbSeconds).per_unit(), 0.000_013_333_4);
    }

    #[test]
    fn a_prices_file_missing_a_line_is_refused() {
        // given a file with no prices
        let text = r#"{"region":"x","architecture":"arm64","currency":"USD","read_on":"d","note":"","prices":{}}"#;

        // when it is parsed
        let parsed = Prices::parse(text);

        // then it is refused, naming the first line it lacks
        assert!(parsed.unwrap_err().to_string().contains("lambda_requests"));
    }
}
