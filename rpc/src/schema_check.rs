//! Checks JSON-RPC results against the execution-apis OpenRPC specification.
//!
//! The spec is a directory of YAML files (`ethereum/execution-apis`, `src/`): method files hold
//! a list of methods (name, params, result schema, examples), schema files under `schemas/` hold
//! a map of named schemas that methods reference as `#/components/schemas/<Name>`. This module
//! loads them and validates a result (or a whole JSON-RPC response) against a method's result
//! schema, with JSON Schema draft 7 as OpenRPC uses.
//!
//! ```no_run
//! use lanes_rpc::schema_check::OpenRpcSpec;
//! let spec = OpenRpcSpec::load(&OpenRpcSpec::default_dir()).unwrap();
//! let result = serde_json::json!("0x1");
//! spec.validate_result("eth_chainId", &result).unwrap();
//! ```

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use serde_json::{Map, Value};

/// Why the spec could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The spec directory is not there.
    #[error(
        "execution-apis spec not found at {path}: {source} (expected a checkout of \
         ethereum/execution-apis with its src/ directory)"
    )]
    Missing {
        /// Where we looked.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is not the YAML we expect.
    #[error("cannot parse {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The spec defines no method of that name.
    #[error("method {0} is not in the spec")]
    UnknownMethod(String),
    /// A result schema does not compile (e.g. a dangling `$ref`).
    #[error("result schema of {method} does not compile: {message}")]
    BadSchema {
        /// The method.
        method: String,
        /// The compiler's complaint.
        message: String,
    },
}

/// One method of the spec.
#[derive(Debug, Clone)]
pub struct MethodSpec {
    /// Method name, e.g. `eth_getBalance`.
    pub name: String,
    /// Names of its params, in order, and whether each is required.
    pub params: Vec<(String, bool)>,
    /// JSON schema of the result (may hold `$ref`s into the spec's components).
    pub result_schema: Value,
    /// The spec's examples: (name, params, expected result if given).
    pub examples: Vec<Example>,
}

/// An example call from the spec.
#[derive(Debug, Clone)]
pub struct Example {
    /// Its name.
    pub name: String,
    /// Param values, in order.
    pub params: Vec<Value>,
    /// The result the spec shows.
    pub result: Option<Value>,
}

/// The loaded spec: methods and the named schemas they reference.
#[derive(Debug, Clone)]
pub struct OpenRpcSpec {
    methods: BTreeMap<String, MethodSpec>,
    schemas: Map<String, Value>,
}

impl OpenRpcSpec {
    /// `<workspace>/../shared/execution-apis`, where the project keeps the spec.
    pub fn default_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/execution-apis")
    }

    /// Loads every YAML file under `dir/src`: lists of methods, and maps of named schemas from
    /// directories called `schemas`.
    pub fn load(dir: &Path) -> Result<Self, SpecError> {
        let src = dir.join("src");
        fs::metadata(&src).map_err(|source| SpecError::Missing {
            path: src.clone(),
            source,
        })?;
        let mut spec = Self {
            methods: BTreeMap::new(),
            schemas: Map::new(),
        };
        let mut files = Vec::new();
        collect_yaml_files(&src, &mut files)?;
        files.sort();
        for path in files {
            let text = fs::read_to_string(&path).map_err(|source| SpecError::Io {
                path: path.clone(),
                source,
            })?;
            let value: Value = serde_yaml::from_str(&text).map_err(|err| SpecError::Parse {
                path: path.clone(),
                message: err.to_string(),
            })?;
            let in_schemas_dir = path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|name| name == "schemas");
            match value {
                Value::Array(methods) => {
                    for method in methods {
                        let method = parse_method(&method).map_err(|message| SpecError::Parse {
                            path: path.clone(),
                            message,
                        })?;
                        spec.methods.insert(method.name.clone(), method);
                    }
                }
                Value::Object(schemas) if in_schemas_dir => spec.schemas.extend(schemas),
                // Error groups and other component kinds are not needed to check results.
                _ => {}
            }
        }
        if spec.methods.is_empty() {
            return Err(SpecError::Parse {
                path: src,
                message: "no methods found".to_owned(),
            });
        }
        Ok(spec)
    }

    /// Loads the spec from [`Self::default_dir`].
    pub fn load_default() -> Result<Self, SpecError> {
        Self::load(&Self::default_dir())
    }

    /// A method by name.
    pub fn method(&self, name: &str) -> Option<&MethodSpec> {
        self.methods.get(name)
    }

    /// All method names, sorted.
    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        self.methods.keys().map(String::as_str)
    }

    /// Checks `result` against `method`'s result schema;
    /// [`SchemaViolations::Invalid`] lists each violation with its JSON path.
    pub fn validate_result(&self, method: &str, result: &Value) -> Result<(), SchemaViolations> {
        let spec = self
            .methods
            .get(method)
            .ok_or_else(|| SchemaViolations::Spec(SpecError::UnknownMethod(method.to_owned())))?;
        self.validate(method, &spec.result_schema, result)
    }

    /// Checks `value` against the named schema of the spec's components (e.g.
    /// `PendingTransactionInfo`), for results the method's own schema does not describe (geth
    /// answers `eth_getTransactionByHash` for a pooled transaction with null block fields).
    pub fn validate_against(&self, schema: &str, value: &Value) -> Result<(), SchemaViolations> {
        if !self.schemas.contains_key(schema) {
            return Err(SchemaViolations::Spec(SpecError::BadSchema {
                method: schema.to_owned(),
                message: "no such schema in the spec's components".to_owned(),
            }));
        }
        let reference = serde_json::json!({ "$ref": format!("#/components/schemas/{schema}") });
        self.validate(schema, &reference, value)
    }

    fn validate(&self, name: &str, schema: &Value, value: &Value) -> Result<(), SchemaViolations> {
        // The schema becomes the root of a document that also holds the components, so
        // `#/components/schemas/X` resolves. `components` is not a keyword: validation ignores
        // it. A draft-7 `$ref` hides its siblings, hence the `allOf`.
        let mut root = Map::new();
        root.insert("allOf".to_owned(), Value::Array(vec![schema.clone()]));
        root.insert(
            "components".to_owned(),
            serde_json::json!({ "schemas": Value::Object(self.schemas.clone()) }),
        );
        let mut root = Value::Object(root);
        one_of_as_any_of(&mut root);
        let validator = jsonschema::draft7::new(&root).map_err(|err| {
            SchemaViolations::Spec(SpecError::BadSchema {
                method: name.to_owned(),
                message: err.to_string(),
            })
        })?;
        let violations: Vec<String> = validator
            .iter_errors(value)
            .map(|err| format!("at {}: {err}", err.instance_path()))
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(SchemaViolations::Invalid(violations))
        }
    }

    /// Checks a whole JSON-RPC response text: it must be a success whose `result` matches.
    pub fn validate_response(&self, method: &str, response: &str) -> Result<(), SchemaViolations> {
        let response: Value = serde_json::from_str(response).map_err(|err| {
            SchemaViolations::Invalid(vec![format!("response is not JSON: {err}")])
        })?;
        match response.get("result") {
            Some(result) => self.validate_result(method, result),
            None => Err(SchemaViolations::Invalid(vec![format!(
                "no result in response: {response}"
            )])),
        }
    }
}

/// Why a result did not validate.
#[derive(Debug, thiserror::Error)]
pub enum SchemaViolations {
    /// The spec could not be used for this method.
    #[error(transparent)]
    Spec(SpecError),
    /// The result breaks the schema; one message per violation.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// Checks the spec's `oneOf`s as `anyOf`s. Some of its alternatives overlap: in
/// `FilterResults` an empty array is both a list of hashes and a list of logs, so `oneOf` would
/// reject `[]`, which every client answers. The alternatives still have to match one of them.
fn one_of_as_any_of(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(alternatives) = map.remove("oneOf") {
                match map.get_mut("anyOf") {
                    // Both present: keep both constraints.
                    Some(_) => {
                        let all_of = map
                            .entry("allOf")
                            .or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(all_of) = all_of {
                            all_of.push(serde_json::json!({ "anyOf": alternatives }));
                        }
                    }
                    None => {
                        map.insert("anyOf".to_owned(), alternatives);
                    }
                }
            }
            map.values_mut().for_each(one_of_as_any_of);
        }
        Value::Array(items) => items.iter_mut().for_each(one_of_as_any_of),
        _ => {}
    }
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SpecError> {
    let entries = fs::read_dir(dir).map_err(|source| SpecError::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| SpecError::Io {
                path: dir.to_owned(),
                source,
            })?
            .path();
        if path.is_dir() {
            collect_yaml_files(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            out.push(path);
        }
    }
    Ok(())
}

fn parse_method(method: &Value) -> Result<MethodSpec, String> {
    let name = method
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("method without a name: {method}"))?
        .to_owned();
    let params = method
        .get("params")
        .and_then(Value::as_array)
        .map(|params| {
            params
                .iter()
                .map(|p| {
                    let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
                    let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                    (name.to_owned(), required)
                })
                .collect()
        })
        .unwrap_or_default();
    let result_schema = method
        .get("result")
        .and_then(|result| result.get("schema"))
        .cloned()
        // A method without a declared result accepts anything.
        .unwrap_or_else(|| Value::Object(Map::new()));
    let examples = method
        .get("examples")
        .and_then(Value::as_array)
        .map(|examples| examples.iter().map(parse_example).collect())
        .unwrap_or_default();
    Ok(MethodSpec {
        name,
        params,
        result_schema,
        examples,
    })
}

fn parse_example(example: &Value) -> Example {
    let name = example
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let params = example
        .get("params")
        .and_then(Value::as_array)
        .map(|params| {
            params
                .iter()
                .filter_map(|p| p.get("value").cloned())
                .collect()
        })
        .unwrap_or_default();
    let result = example
        .get("result")
        .and_then(|result| result.get("value"))
        .cloned();
    Example {
        name,
        params,
        result,
    }
}
