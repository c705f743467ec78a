//! What the cost model reads from `template.yaml`: each function's memory size (its own
//! `MemorySize`, else the `Globals` one) and how long images are kept (`ImageRetentionDays`'s
//! default). Read line by line, not hard-coded, so a change to the template changes the page.
//! The template's layout is SAM's usual one (two-space indents, a function's binary under
//! `Metadata.BuildProperties.Binary`); a template the reader cannot follow is an error.

use std::collections::BTreeMap;

use crate::Error;

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateFacts {
    /// Memory size in MB per function binary (the bench's function names).
    pub memory_mb: BTreeMap<String, u32>,
    /// `MemorySize` under `Globals.Function`: the floors', which the template does not deploy.
    pub global_memory_mb: u32,
    pub image_retention_days: f64,
}

impl TemplateFacts {
    /// The memory size of `function` (a bench function name): its own, else the global one.
    pub fn memory_of(&self, function: &str) -> u32 {
        self.memory_mb
            .get(function)
            .copied()
            .unwrap_or(self.global_memory_mb)
    }

    pub fn parse(text: &str) -> Result<TemplateFacts, Error> {
        let mut global = None;
        let mut retention = None;
        let mut memory_mb = BTreeMap::new();
        // The top-level section, the resource or parameter we are in, and what it said so far.
        let mut section = "";
        let mut block = String::new();
        let mut binary: Option<String> = None;
        let mut own_memory: Option<u32> = None;
        let mut is_function = false;
        let mut flush =
            |binary: &mut Option<String>, own: &mut Option<u32>, is_function: &mut bool| {
                if let (true, Some(b)) = (*is_function, binary.take()) {
                    memory_mb.insert(b, own.unwrap_or(0));
                }
                *own = None;
                *is_function = false;
            };
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if indent == 0 {
                flush(&mut binary, &mut own_memory, &mut is_function);
                section = if trimmed.starts_with("Globals:") {
                    "Globals"
                } else if trimmed.starts_with("Resources:") {
                    "Resources"
                } else if trimmed.starts_with("Parameters:") {
                    "Parameters"
                } else {
                    ""
                };
                continue;
            }
            if indent == 2 {
                flush(&mut binary, &mut own_memory, &mut is_function);
                block = trimmed.trim_end_matches(':').to_owned();
                continue;
            }
            let value = |key: &str| trimmed.strip_prefix(key).map(|v| v.trim().to_owned());
            match section {
                "Globals" if block == "Function" => {
                    if let Some(v) = value("MemorySize:") {
                        global = Some(v.parse::<u32>()?);
                    }
                }
                "Parameters" if block == "ImageRetentionDays" => {
                    if let Some(v) = value("Default:") {
                        retention = Some(v.parse::<f64>()?);
                    }
                }
                "Resources" => {
                    if value("Type:").as_deref() == Some("AWS::Serverless::Function") {
                        is_function = true;
                    } else if let Some(v) = value("Binary:") {
                        binary = Some(v);
                    } else if let Some(v) = value("MemorySize:") {
                        own_memory = Some(v.parse::<u32>()?);
                    }
                }
                _ => {}
            }
        }
        flush(&mut binary, &mut own_memory, &mut is_function);
        let global_memory_mb = global.ok_or("template.yaml: no Globals.Function.MemorySize")?;
        for m in memory_mb.values_mut() {
            if *m == 0 {
                *m = global_memory_mb;
            }
        }
        Ok(TemplateFacts {
            memory_mb,
            global_memory_mb,
            image_retention_days: retention
                .ok_or("template.yaml: no default for ImageRetentionDays")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{FUNCTIONS, is_floor};

    #[test]
    fn a_functions_own_memory_size_wins_over_the_global_one() {
        // given a template with a global size and one function overriding it
        let text = "\
Parameters:
  ImageRetentionDays:
    Type: Number
    Default: 90
Globals:
  Function:
    MemorySize: 128
Resources:
  AFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: a
    Properties:
      MemorySize: 512
  BFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: b
  ATable:
    Type: AWS::DynamoDB::Table
";
        // when it is read
        let facts = TemplateFacts::parse(text).expect("readable");

        // then a has its own size, b and anything undeclared the global one
        assert_eq!(
            (
                facts.memory_of("a"),
                facts.memory_of("b"),
                facts.memory_of("floor")
            ),
            (512, 128, 128)
        );
        assert_eq!(facts.image_retention_days, 90.0);
    }

    #[test]
    fn the_projects_template_gives_every_benchmarked_function_a_memory_size() {
        // given the project's template
        let facts =
            TemplateFacts::parse(include_str!("../../../../template.yaml")).expect("readable");

        // when the bench's functions are looked up (the floors are not deployed)
        // then each deployed one is there
        for f in FUNCTIONS.iter().filter(|f| !is_floor(f)) {
            assert!(
                facts.memory_mb.contains_key(*f),
                "{f} not found in template.yaml"
            );
        }
    }
}
