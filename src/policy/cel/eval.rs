//! The evaluator: walks a compiled expression over an activation (the object under
//! admission and its companions), charging every step to a cost budget so that no
//! expression runs unbounded.

use std::rc::Rc;

use super::ast::{BinOp, Expr, Kind, Quantifier, Root};
use super::functions;
use super::value::{Str, Value, equal, order};
use super::{Position, Program};

/// The variables of one admission request.
pub struct Activation<'a> {
    pub object: Value<'a>,
    pub old_object: Value<'a>,
    pub params: Value<'a>,
    pub request: Value<'a>,
    pub namespace_object: Value<'a>,
}

/// Runtime cost limits, in cel-go's units (about one per evaluated node, more for work
/// proportional to a string's or list's size).
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// For one expression (Kubernetes' `PerCallLimit`).
    pub per_expression: u64,
    /// For one evaluation of a policy, all its expressions (`RuntimeCELCostBudget`).
    pub per_evaluation: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            per_expression: 1_000_000,
            per_evaluation: 10_000_000,
        }
    }
}

/// An evaluation error, in the expression it happened in: the one evaluated, or (`variable`)
/// one of the policy's variables it used.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalError {
    pub message: String,
    pub variable: Option<usize>,
    pub position: Position,
    /// The cost budget ran out.
    pub cost_exceeded: bool,
}

/// One evaluation of a policy for one request: the policy's variables are evaluated at
/// most once, when first used, and every expression shares the budget.
pub struct Evaluation<'p, 'a> {
    variables: &'p [Program],
    activation: &'a Activation<'a>,
    cache: Vec<Option<Result<Value<'a>, EvalError>>>,
    locals: Vec<(&'p str, Value<'a>)>,
    budget: Budget,
    used: u64,
    expression_start: u64,
    /// The program being evaluated: `None` for the top expression, else a variable.
    current: Option<usize>,
    current_program: Option<&'p Program>,
}

type Result<T, E = Fail> = std::result::Result<T, E>;

/// An error inside the evaluator, before it is placed.
#[derive(Debug)]
pub(super) struct Fail {
    message: String,
    offset: Option<u32>,
    cost: bool,
    /// Already placed (raised while evaluating a variable).
    placed: Option<EvalError>,
}

impl Fail {
    pub(super) fn new(message: impl Into<String>) -> Fail {
        Fail {
            message: message.into(),
            offset: None,
            cost: false,
            placed: None,
        }
    }
}

impl From<String> for Fail {
    fn from(message: String) -> Fail {
        Fail::new(message)
    }
}

impl<'p, 'a> Evaluation<'p, 'a>
where
    'p: 'a,
{
    pub fn new(
        variables: &'p [Program],
        activation: &'a Activation<'a>,
        budget: Budget,
    ) -> Evaluation<'p, 'a> {
        Evaluation {
            variables,
            activation,
            cache: vec![None; variables.len()],
            locals: Vec::new(),
            budget,
            used: 0,
            expression_start: 0,
            current: None,
            current_program: None,
        }
    }

    /// The cost used so far.
    pub fn cost(&self) -> u64 {
        self.used
    }

    /// Evaluates `program` (not one of the variables).
    pub fn eval(&mut self, program: &'p Program) -> Result<Value<'a>, EvalError> {
        self.expression_start = self.used;
        self.current = None;
        self.current_program = Some(program);
        self.locals.clear();
        let result = self.expr(&program.root);
        result.map_err(|f| self.place(f))
    }

    fn place(&self, fail: Fail) -> EvalError {
        if let Some(placed) = fail.placed {
            return placed;
        }
        let program = self.current_program.expect("evaluating a program");
        EvalError {
            message: fail.message,
            variable: self.current,
            position: program.position(fail.offset.unwrap_or(0)),
            cost_exceeded: fail.cost,
        }
    }

    /// Charges `amount` to the budget.
    pub(super) fn charge(&mut self, amount: u64) -> Result<()> {
        self.used = self.used.saturating_add(amount);
        if self.used - self.expression_start > self.budget.per_expression {
            return Err(Fail {
                cost: true,
                ..Fail::new(format!(
                    "operation cancelled: actual cost limit exceeded (the expression's budget is {})",
                    self.budget.per_expression
                ))
            });
        }
        if self.used > self.budget.per_evaluation {
            return Err(Fail {
                cost: true,
                ..Fail::new(format!(
                    "validation failed due to running out of cost budget, no further validation rules will be run (the policy's budget is {})",
                    self.budget.per_evaluation
                ))
            });
        }
        Ok(())
    }

    fn variable(&mut self, index: usize) -> Result<Value<'a>> {
        if let Some(cached) = &self.cache[index] {
            return cached.clone().map_err(|e| Fail {
                placed: Some(e),
                ..Fail::new("")
            });
        }
        let program = &self.variables[index];
        let saved = (self.current, self.current_program);
        let saved_locals = std::mem::take(&mut self.locals);
        self.current = Some(index);
        self.current_program = Some(program);
        let result = self.expr(&program.root).map_err(|f| self.place(f));
        (self.current, self.current_program) = saved;
        self.locals = saved_locals;
        self.cache[index] = Some(result.clone());
        result.map_err(|e| Fail {
            cost: e.cost_exceeded,
            placed: Some(e),
            ..Fail::new("")
        })
    }

    fn expr(&mut self, e: &'p Expr) -> Result<Value<'a>> {
        self.charge(1).map_err(|f| at(f, e))?;
        self.kind(e).map_err(|f| at(f, e))
    }

    fn kind(&mut self, e: &'p Expr) -> Result<Value<'a>> {
        Ok(match &e.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::Int(*i),
            Kind::Uint(u) => Value::Uint(*u),
            Kind::Double(d) => Value::Double(*d),
            Kind::Str(s) => Value::Str(Str::Borrowed(s)),
            Kind::Bytes(b) => Value::Bytes(Rc::from(b.as_slice())),
            Kind::Root(root) => {
                let a = self.activation;
                match root {
                    Root::Object => a.object.clone(),
                    Root::OldObject => a.old_object.clone(),
                    Root::Params => a.params.clone(),
                    Root::Request => a.request.clone(),
                    Root::NamespaceObject => a.namespace_object.clone(),
                }
            }
            Kind::Local(name) => self
                .locals
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| Fail::new(format!("undeclared reference to '{name}'")))?,
            Kind::Variable(i) => self.variable(*i)?,
            Kind::TypeName(t) => Value::Type(t),
            Kind::Select {
                operand,
                field,
                test,
            } => {
                let value = self.expr(operand)?;
                select(value, field, *test)?
            }
            Kind::OptSelect { operand, field } => {
                let value = self.expr(operand)?;
                match value {
                    Value::Optional(None) => value,
                    Value::Optional(Some(inner)) => opt_field(&inner, field)?,
                    other => opt_field(&other, field)?,
                }
            }
            Kind::Index {
                operand,
                index,
                optional,
            } => {
                let value = self.expr(operand)?;
                let key = self.expr(index)?;
                let (value, optional) = match value {
                    Value::Optional(None) => return Ok(value),
                    Value::Optional(Some(inner)) => ((*inner).clone(), true),
                    other => (other, *optional),
                };
                match (index_into(&value, &key)?, optional) {
                    (Some(v), true) => Value::some(v),
                    (None, true) => Value::Optional(None),
                    (Some(v), false) => v,
                    (None, false) => {
                        return Err(Fail::new(match value {
                            Value::List(_) => format!("index out of bounds: {key}"),
                            _ => format!("no such key: {}", key_text(&key)),
                        }));
                    }
                }
            }
            Kind::And(l, r) => self.logic(l, r, false)?,
            Kind::Or(l, r) => self.logic(l, r, true)?,
            Kind::Not(operand) => match self.expr(operand)? {
                Value::Bool(b) => Value::Bool(!b),
                other => return Err(no_overload("!_", &[&other])),
            },
            Kind::Neg(operand) => match self.expr(operand)? {
                Value::Int(i) => Value::Int(
                    i.checked_neg()
                        .ok_or_else(|| Fail::new("integer overflow"))?,
                ),
                Value::Double(d) => Value::Double(-d),
                other => return Err(no_overload("-_", &[&other])),
            },
            Kind::Cond(c, yes, no) => match self.expr(c)? {
                Value::Bool(true) => self.expr(yes)?,
                Value::Bool(false) => self.expr(no)?,
                other => return Err(no_overload("_?_:_", &[&other])),
            },
            Kind::Binary(op, l, r) => {
                let left = self.expr(l)?;
                let right = self.expr(r)?;
                self.binary(*op, left, right)?
            }
            Kind::Call {
                name,
                target,
                args,
                regex,
            } => {
                let target = match target {
                    Some(t) => Some(self.expr(t)?),
                    None => None,
                };
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.expr(a)?);
                }
                functions::call(self, name, target, values, regex.as_ref())?
            }
            Kind::List { items, optional } => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let value = self.expr(item)?;
                    if optional.contains(&i) {
                        match value {
                            Value::Optional(Some(v)) => out.push((*v).clone()),
                            Value::Optional(None) => {}
                            other => {
                                return Err(Fail::new(format!(
                                    "an optional list element must be an optional, not {}",
                                    other.type_name()
                                )));
                            }
                        }
                    } else {
                        out.push(value);
                    }
                }
                Value::list(out)
            }
            Kind::Map { entries } => {
                let mut out: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(entries.len());
                for (k, v, optional) in entries {
                    let key = self.expr(k)?;
                    if !matches!(
                        key,
                        Value::Str(_) | Value::Int(_) | Value::Uint(_) | Value::Bool(_)
                    ) {
                        return Err(Fail::new(format!(
                            "unsupported map key type: {}",
                            key.type_name()
                        )));
                    }
                    let value = self.expr(v)?;
                    let value = match (optional, value) {
                        (true, Value::Optional(None)) => continue,
                        (true, Value::Optional(Some(v))) => (*v).clone(),
                        (_, v) => v,
                    };
                    if out.iter().any(|(k, _)| equal(k, &key).unwrap_or(false)) {
                        return Err(Fail::new(format!(
                            "Failed with repeated key: {}",
                            key_text(&key)
                        )));
                    }
                    out.push((key, value));
                }
                Value::map(out)
            }
            Kind::Quantifier {
                quantifier,
                range,
                var,
                predicate,
            } => {
                let items = self.range(range)?;
                self.quantify(*quantifier, items, var, predicate)?
            }
            Kind::Collect {
                range,
                var,
                filter,
                transform,
            } => {
                let items = self.range(range)?;
                let mut out = Vec::new();
                for item in items {
                    self.charge(1)?;
                    self.locals.push((var, item.clone()));
                    let keep = match filter {
                        Some(f) => self.expr(f).and_then(|v| match v {
                            Value::Bool(b) => Ok(b),
                            other => Err(no_overload("filter", &[&other])),
                        }),
                        None => Ok(true),
                    };
                    let mapped = match (keep, transform) {
                        (Ok(true), Some(t)) => self.expr(t).map(Some),
                        (Ok(true), None) => Ok(Some(item)),
                        (Ok(false), _) => Ok(None),
                        (Err(e), _) => Err(e),
                    };
                    self.locals.pop();
                    if let Some(v) = mapped? {
                        out.push(v);
                    }
                }
                Value::list(out)
            }
            Kind::OptMap {
                target,
                var,
                body,
                flat,
            } => match self.expr(target)? {
                Value::Optional(None) => Value::Optional(None),
                Value::Optional(Some(v)) => {
                    self.locals.push((var, (*v).clone()));
                    let result = self.expr(body);
                    self.locals.pop();
                    match (result?, flat) {
                        (r @ Value::Optional(_), true) => r,
                        (other, true) => {
                            return Err(Fail::new(format!(
                                "optFlatMap must return an optional, not {}",
                                other.type_name()
                            )));
                        }
                        (r, false) => Value::some(r),
                    }
                }
                other => return Err(no_overload("optMap", &[&other])),
            },
            Kind::Bind { var, init, body } => {
                let value = self.expr(init)?;
                self.locals.push((var, value));
                let result = self.expr(body);
                self.locals.pop();
                result?
            }
        })
    }

    /// `&&` and `||` as CEL defines them: commutative, an error absorbed when the other
    /// side decides.
    fn logic(&mut self, l: &'p Expr, r: &'p Expr, or: bool) -> Result<Value<'a>> {
        let decides = |v: &Value| matches!(v, Value::Bool(b) if *b == or);
        let left = self.expr(l);
        if let Ok(v) = &left
            && decides(v)
        {
            return Ok(Value::Bool(or));
        }
        let right = self.expr(r)?;
        if decides(&right) {
            return Ok(Value::Bool(or));
        }
        let op = if or { "_||_" } else { "_&&_" };
        match (left?, right) {
            (Value::Bool(_), Value::Bool(_)) => Ok(Value::Bool(!or)),
            (a, b) => Err(no_overload(op, &[&a, &b])),
        }
    }

    /// The items a comprehension iterates: a list's elements or a map's keys.
    fn range(&mut self, range: &'p Expr) -> Result<Vec<Value<'a>>> {
        match self.expr(range)? {
            Value::List(l) => Ok(l.iter().collect()),
            Value::Map(m) => Ok(m.keys()),
            other => Err(Fail::new(format!(
                "cannot iterate over a value of type '{}'",
                other.type_name()
            ))),
        }
    }

    fn quantify(
        &mut self,
        quantifier: Quantifier,
        items: Vec<Value<'a>>,
        var: &'p str,
        predicate: &'p Expr,
    ) -> Result<Value<'a>> {
        let mut error = None;
        let mut count = 0usize;
        for item in items {
            self.charge(1)?;
            self.locals.push((var, item));
            let result = self.expr(predicate);
            self.locals.pop();
            let result = match result {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(no_overload(quantifier_name(quantifier), &[&other])),
                Err(e) => Err(e),
            };
            match (quantifier, result) {
                // A budget overrun ends the evaluation, whatever the other items say.
                (_, Err(e)) if e.cost => return Err(e),
                (Quantifier::All, Ok(false)) => return Ok(Value::Bool(false)),
                (Quantifier::Exists, Ok(true)) => return Ok(Value::Bool(true)),
                (Quantifier::ExistsOne, Ok(true)) => count += 1,
                (Quantifier::ExistsOne, Err(e)) => return Err(e),
                (_, Err(e)) => {
                    error.get_or_insert(e);
                }
                _ => {}
            }
        }
        if let Some(e) = error {
            return Err(e);
        }
        Ok(Value::Bool(match quantifier {
            Quantifier::All => true,
            Quantifier::Exists => false,
            Quantifier::ExistsOne => count == 1,
        }))
    }

    fn binary(&mut self, op: BinOp, l: Value<'a>, r: Value<'a>) -> Result<Value<'a>> {
        use Value::*;
        let symbol = op.symbol();
        let fail = |l: &Value, r: &Value| no_overload(symbol, &[l, r]);
        match op {
            BinOp::Eq | BinOp::Ne => {
                self.charge(l.cost_size().min(r.cost_size()))?;
                let eq = equal(&l, &r).unwrap_or(false);
                Ok(Bool(eq == (op == BinOp::Eq)))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ord = order(&l, &r).ok_or_else(|| fail(&l, &r))?;
                Ok(Bool(match op {
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                }))
            }
            BinOp::In => match &r {
                List(list) => {
                    self.charge(list.len() as u64)?;
                    Ok(Bool(list.iter().any(|v| equal(&l, &v).unwrap_or(false))))
                }
                Map(map) => Ok(Bool(map.get(&l).is_some())),
                _ => Err(fail(&l, &r)),
            },
            BinOp::Add => match (&l, &r) {
                (Str(a), Str(b)) => {
                    let len = a.as_str().len() + b.as_str().len();
                    self.charge(len as u64 / 10)?;
                    let mut s = String::with_capacity(len);
                    s.push_str(a.as_str());
                    s.push_str(b.as_str());
                    Ok(Value::string(s))
                }
                (List(a), List(b)) => {
                    self.charge((a.len() + b.len()) as u64 / 10)?;
                    Ok(Value::list(a.iter().chain(b.iter()).collect()))
                }
                (Bytes(a), Bytes(b)) => {
                    self.charge((a.len() + b.len()) as u64 / 10)?;
                    Ok(Bytes(a.iter().chain(b.iter()).copied().collect()))
                }
                (Quantity(_), _) | (_, Quantity(_)) => Err(fail(&l, &r)),
                _ => arithmetic(op, &l, &r).ok_or_else(|| fail(&l, &r))?,
            },
            _ => arithmetic(op, &l, &r).ok_or_else(|| fail(&l, &r))?,
        }
    }
}

fn quantifier_name(q: Quantifier) -> &'static str {
    match q {
        Quantifier::All => "all",
        Quantifier::Exists => "exists",
        Quantifier::ExistsOne => "exists_one",
    }
}

/// Places an error raised by `e` at `e`, unless a deeper node already placed it.
fn at(mut fail: Fail, e: &Expr) -> Fail {
    if fail.offset.is_none() {
        fail.offset = Some(e.offset);
    }
    fail
}

/// `+ - * / %` on numbers: `None` for types with no overload, `Some(Err)` for overflow
/// and division by zero.
fn arithmetic<'a>(op: BinOp, l: &Value<'a>, r: &Value<'a>) -> Option<Result<Value<'a>>> {
    use Value::*;
    let overflow = || Fail::new("integer overflow");
    Some(match (l, r) {
        (Int(a), Int(b)) => {
            let (a, b) = (*a, *b);
            match op {
                BinOp::Add => a.checked_add(b).map(Int).ok_or_else(overflow),
                BinOp::Sub => a.checked_sub(b).map(Int).ok_or_else(overflow),
                BinOp::Mul => a.checked_mul(b).map(Int).ok_or_else(overflow),
                BinOp::Div if b == 0 => Err(Fail::new("division by zero")),
                BinOp::Div => a.checked_div(b).map(Int).ok_or_else(overflow),
                BinOp::Rem if b == 0 => Err(Fail::new("modulus by zero")),
                BinOp::Rem => a.checked_rem(b).map(Int).ok_or_else(overflow),
                _ => return None,
            }
        }
        (Uint(a), Uint(b)) => {
            let (a, b) = (*a, *b);
            match op {
                BinOp::Add => a.checked_add(b).map(Uint).ok_or_else(overflow),
                BinOp::Sub => a.checked_sub(b).map(Uint).ok_or_else(overflow),
                BinOp::Mul => a.checked_mul(b).map(Uint).ok_or_else(overflow),
                BinOp::Div if b == 0 => Err(Fail::new("division by zero")),
                BinOp::Div => Ok(Uint(a / b)),
                BinOp::Rem if b == 0 => Err(Fail::new("modulus by zero")),
                BinOp::Rem => Ok(Uint(a % b)),
                _ => return None,
            }
        }
        (Double(a), Double(b)) => Ok(Double(match op {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => a / b,
            _ => return None,
        })),
        _ => return None,
    })
}

/// `v.field`, or `has(v.field)` when `test`.
fn select<'a>(value: Value<'a>, field: &str, test: bool) -> Result<Value<'a>> {
    match value {
        Value::Map(m) => {
            let found = m.field(field);
            if test {
                Ok(Value::Bool(found.is_some()))
            } else {
                found.ok_or_else(|| Fail::new(format!("no such key: {field}")))
            }
        }
        Value::Optional(None) => Ok(if test {
            Value::Bool(false)
        } else {
            Value::Optional(None)
        }),
        Value::Optional(Some(inner)) => {
            let found = opt_field(&inner, field)?;
            Ok(if test {
                Value::Bool(matches!(found, Value::Optional(Some(_))))
            } else {
                found
            })
        }
        other => Err(Fail::new(format!(
            "type '{}' does not support field selection",
            other.type_name()
        ))),
    }
}

/// `v.?field` on a value that is not itself optional.
fn opt_field<'a>(value: &Value<'a>, field: &str) -> Result<Value<'a>> {
    match value {
        Value::Map(m) => Ok(m.field(field).map_or(Value::Optional(None), Value::some)),
        other => Err(Fail::new(format!(
            "type '{}' does not support field selection",
            other.type_name()
        ))),
    }
}

/// `v[key]`: `Ok(None)` when the key or index is absent.
fn index_into<'a>(value: &Value<'a>, key: &Value<'a>) -> Result<Option<Value<'a>>> {
    match (value, key) {
        (Value::List(list), _) => {
            let i = match key {
                Value::Int(i) => *i,
                Value::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
                Value::Double(d) if d.fract() == 0.0 => *d as i64,
                other => return Err(no_overload("_[_]", &[value, other])),
            };
            Ok(usize::try_from(i).ok().and_then(|i| list.get(i)))
        }
        (Value::Map(map), key) => Ok(map.get(key)),
        (other, key) => Err(no_overload("_[_]", &[other, key])),
    }
}

fn key_text(key: &Value) -> String {
    match key {
        Value::Str(s) => s.as_str().to_string(),
        other => other.to_string(),
    }
}

/// cel-go's message for a function or operator applied to types it has no overload for.
pub(super) fn no_overload(function: &str, args: &[&Value]) -> Fail {
    let types: Vec<&str> = args.iter().map(|a| a.type_name()).collect();
    Fail::new(format!(
        "found no matching overload for '{function}' applied to '({})'",
        types.join(", ")
    ))
}
