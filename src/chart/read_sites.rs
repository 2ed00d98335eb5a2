//! Where a chart's templates read values, by line: every `values.a.b` chain in their
//! compiled code (minijinja's instructions, which keep the line of each), following simple
//! aliases (`{% set x = values.a %}` … `x.b`). For `kcc explain`, which names the lines
//! that read a path; what was actually read, and by which template, is recorded as the
//! render runs (`tracked`).

use std::collections::HashMap;

use minijinja::machinery::{Instruction, get_compiled_template};

use super::Chart;

/// A read of a value path at a line of a chart file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSite {
    /// The chart file, relative to the chart root (`templates/deployment.yaml`).
    pub file: String,
    /// The same, as messages name it (`charts/coredns/templates/deployment.yaml`).
    pub shown: String,
    pub line: usize,
    /// The keys after `values`.
    pub path: Vec<String>,
}

impl Chart {
    /// Every place a template or helper of the chart reads a values path.
    pub fn read_sites(&self) -> Vec<ReadSite> {
        let mut sites = Vec::new();
        for name in self.files.keys().filter(|k| k.starts_with("templates/")) {
            let Ok(template) = self.env.get_template(name) else {
                continue;
            };
            let compiled = get_compiled_template(&template);
            let code = &compiled.instructions;
            let mut aliases: HashMap<&str, Vec<String>> = HashMap::new();
            let mut chain: Option<(Vec<String>, usize)> = None;
            let mut at = 0u32;
            while let Some(instruction) = code.get(at) {
                let line = code.get_line(at).unwrap_or(1);
                at += 1;
                // A chain goes on with each attribute; anything else ends it, and may
                // start the next one.
                if let (Instruction::GetAttr(key), Some((path, _))) = (instruction, &mut chain) {
                    path.push((*key).to_string());
                    continue;
                }
                if let Some((path, l)) = chain.take() {
                    if let Instruction::StoreLocal(var) = instruction {
                        aliases.insert(var, path.clone());
                    }
                    sites.push(self.site(name, l, path));
                }
                chain = match instruction {
                    Instruction::Lookup("values") => Some((Vec::new(), line)),
                    Instruction::Lookup(var) => aliases.get(var).map(|path| (path.clone(), line)),
                    _ => None,
                };
            }
            if let Some((path, l)) = chain {
                sites.push(self.site(name, l, path));
            }
        }
        sites.retain(|s| !s.path.is_empty());
        sites.dedup();
        sites
    }

    fn site(&self, file: &str, line: usize, path: Vec<String>) -> ReadSite {
        ReadSite {
            file: file.to_string(),
            shown: self.files[file].path.clone(),
            line,
            path,
        }
    }
}
