//! Typed access to a component's recipe parameters.
//!
//! Recipes are TOML, so a parameter can hold any TOML value. Components read theirs through
//! [`Params`], which converts and range-checks each value and reports the first problem as a
//! [`ParamError`] naming the key; the recipe loader turns that into a file-and-line error. Integers
//! are accepted where floats are expected (`weight = 1` means `1.0`), never the other way round.

/// One documented parameter of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDoc {
    /// The key in the recipe's `params` table.
    pub name: &'static str,
    /// Its default, as TOML text (`"required"` when there is none).
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// A parameter that is missing, unknown, of the wrong type or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("params.{key}: {message}")]
pub struct ParamError {
    /// The offending key.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

/// A component's parameters, read with defaults and checks.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    component: &'static str,
    table: &'a toml::Table,
}

impl<'a> Params<'a> {
    /// Wraps a component's parameter table.
    pub fn new(component: &'static str, table: &'a toml::Table) -> Params<'a> {
        Params { component, table }
    }

    /// An error for `key`, naming the component.
    pub fn error(&self, key: &str, message: impl Into<String>) -> ParamError {
        ParamError { key: key.to_string(), message: format!("component `{}`: {}", self.component, message.into()) }
    }

    /// A finite number, `default` when absent.
    pub fn float(&self, key: &str, default: f64) -> Result<f64, ParamError> {
        Ok(self.float_opt(key)?.unwrap_or(default))
    }

    /// A finite number, or `None` when absent.
    pub fn float_opt(&self, key: &str) -> Result<Option<f64>, ParamError> {
        let value = match self.table.get(key) {
            None => return Ok(None),
            Some(toml::Value::Float(f)) => *f,
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(other) => return Err(self.error(key, format!("must be a number, got {}", other.type_str()))),
        };
        if !value.is_finite() {
            return Err(self.error(key, "must be finite"));
        }
        Ok(Some(value))
    }

    /// A required finite number.
    pub fn float_required(&self, key: &str) -> Result<f64, ParamError> {
        self.float_opt(key)?.ok_or_else(|| self.error(key, "is required"))
    }

    /// A non-negative integer, or `None` when absent.
    pub fn count_opt(&self, key: &str) -> Result<Option<usize>, ParamError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) => {
                usize::try_from(*i).map(Some).map_err(|_| self.error(key, format!("must be non-negative, got {i}")))
            }
            Some(other) => Err(self.error(key, format!("must be an integer, got {}", other.type_str()))),
        }
    }

    /// A non-negative integer, `default` when absent.
    pub fn count(&self, key: &str, default: usize) -> Result<usize, ParamError> {
        Ok(self.count_opt(key)?.unwrap_or(default))
    }

    /// A required non-negative integer.
    pub fn count_required(&self, key: &str) -> Result<usize, ParamError> {
        self.count_opt(key)?.ok_or_else(|| self.error(key, "is required"))
    }

    /// A boolean, `default` when absent.
    pub fn boolean(&self, key: &str, default: bool) -> Result<bool, ParamError> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(other) => Err(self.error(key, format!("must be true or false, got {}", other.type_str()))),
        }
    }

    /// A string, `default` when absent.
    pub fn string(&self, key: &str, default: &'a str) -> Result<&'a str, ParamError> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::String(s)) => Ok(s.as_str()),
            Some(other) => Err(self.error(key, format!("must be a string, got {}", other.type_str()))),
        }
    }
}
