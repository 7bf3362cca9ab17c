//! One AdmissionReview in, one out: the function behind `/validate`, `/mutate`,
//! `stackhook review` and `stackhook mutate`.
//!
//! Pods go to [`inject`], stackhook kinds to [`admit`](crate::admit);
//! anything else is allowed. The response echoes the request's `uid` and `apiVersion`;
//! a decision is always an AdmissionReview (never an HTTP error); only a request that
//! cannot be decoded is an error, for the caller to answer (HTTP 400, exit 2).
//!
//! Decoding is lean: typed structs with borrowed strings, and the object kept as raw
//! JSON until the route that needs it parses it.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::admit::{Operation, Verdict};
use crate::engine::Engine;
use crate::inject::{self, InjectMemo, InjectSettings, PodOutcome};
use crate::model::{self, GROUP, Parsed};

mod decode;

use decode::{Mode, ObjectIn, RequestIn};

/// The only AdmissionReview version served.
pub const ADMISSION_V1: &str = "admission.k8s.io/v1";

/// Why a request is not an AdmissionReview stackhook can answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// Not JSON, or not an AdmissionReview.
    #[error("cannot decode the AdmissionReview: {0}")]
    Decode(String),
    /// An AdmissionReview without `request`.
    #[error("the AdmissionReview has no request")]
    NoRequest,
    /// Another version than `admission.k8s.io/v1`.
    #[error("unsupported AdmissionReview apiVersion {0:?} (only admission.k8s.io/v1 is served)")]
    Version(String),
}

#[derive(Serialize)]
struct ReviewOut<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'static str,
    response: Response<'a>,
}

/// The decision, as the API server reads it.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Response<'a> {
    /// The request's uid.
    pub uid: &'a str,
    /// Whether the request is admitted.
    pub allowed: bool,
    /// Why not (or nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// `JSONPatch` when there is a patch.
    #[serde(rename = "patchType", skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// The RFC 6902 patch, base64-encoded as the API server expects. It is written
    /// last, straight into the output (see [`Reviewer::review`]).
    #[serde(skip)]
    pub patch: Option<Arc<str>>,
    /// Warnings shown to the client.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Written to the API server's audit log (under the webhook's name): the
    /// violations `Warn` or `Audit` admitted, as `violations`.
    #[serde(rename = "auditAnnotations", skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<AuditAnnotations>,
}

/// The audit annotations of an admitted workload with violations.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct AuditAnnotations {
    /// `Audit: path: message; …` (cut to [`MAX_AUDIT_ANNOTATION`] characters).
    pub violations: String,
}

/// The longest audit annotation written: audit logs are not the place for a whole
/// schema report, the workload's status holds every violation.
pub const MAX_AUDIT_ANNOTATION: usize = 1000;

/// A `metav1.Status` for a denial.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Always `Failure`.
    pub status: &'static str,
    /// HTTP-like code: 400 undecodable object, 403 refused pod, 422 invalid object.
    pub code: u16,
    /// `BadRequest`, `Forbidden` or `Invalid`.
    pub reason: &'static str,
    /// Every problem, one per line.
    pub message: String,
    /// The problems by field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
}

/// `metav1.StatusDetails`. With `kind` and `name` set, kubectl prints a refusal as it
/// prints the API server's own validation errors (`The Worker "w" is invalid: <field>:
/// <reason>, …`) instead of `The request is invalid`.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// The object's name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The object's API group.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The object's kind.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// One cause per problem.
    pub causes: Vec<Cause>,
}

/// The object a decision is about, for the Status's details.
struct Subject<'a> {
    group: &'a str,
    kind: &'a str,
    name: &'a str,
}

/// `metav1.StatusCause`.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueInvalid`.
    pub reason: &'static str,
    /// What is wrong.
    pub message: String,
    /// The field path.
    pub field: String,
}

fn allowed<'a>(uid: &'a str, warnings: Vec<String>) -> Response<'a> {
    Response {
        uid,
        allowed: true,
        status: None,
        patch_type: None,
        patch: None,
        warnings,
        audit_annotations: None,
    }
}

fn denied<'a>(
    uid: &'a str,
    code: u16,
    reason: &'static str,
    message: String,
    causes: Vec<Cause>,
) -> Response<'a> {
    Response {
        uid,
        allowed: false,
        status: Some(Status {
            status: "Failure",
            code,
            reason,
            message,
            details: (!causes.is_empty()).then_some(Details {
                name: String::new(),
                group: String::new(),
                kind: String::new(),
                causes,
            }),
        }),
        patch_type: None,
        patch: None,
        warnings: Vec::new(),
        audit_annotations: None,
    }
}

fn verdict_response<'a>(
    uid: &'a str,
    who: &str,
    subject: &Subject<'_>,
    verdict: Verdict,
) -> Response<'a> {
    if verdict.allowed() {
        let mut r = allowed(uid, verdict.warnings);
        if !verdict.relaxed.is_empty() {
            let all: Vec<String> = verdict.relaxed.iter().map(ToString::to_string).collect();
            let mut violations = format!("{}: {}", verdict.enforcement, all.join("; "));
            if violations.chars().count() > MAX_AUDIT_ANNOTATION {
                violations = violations.chars().take(MAX_AUDIT_ANNOTATION - 1).collect();
                violations.push('…');
            }
            r.audit_annotations = Some(AuditAnnotations { violations });
        }
        return r;
    }
    let n = verdict.violations.len();
    let mut message = format!("{who}: {n} problem{}:", if n == 1 { "" } else { "s" });
    for v in &verdict.violations {
        message.push_str("\n- ");
        message.push_str(&v.to_string());
    }
    // A refusal about the object as a whole (deleting a Stack or Depot in use) is not a
    // field's problem: Forbidden, whose message kubectl prints as it is, rather than a
    // cause without a field (kubectl would print it as `: <reason>`).
    if verdict.violations.iter().all(|v| v.path.is_empty()) {
        let mut r = denied(uid, 403, "Forbidden", message, Vec::new());
        r.warnings = verdict.warnings;
        return r;
    }
    let causes = verdict
        .violations
        .into_iter()
        .map(|v| Cause {
            reason: "FieldValueInvalid",
            message: v.message,
            // Beside field problems, one about the whole object is the name's.
            field: if v.path.is_empty() {
                "metadata.name".to_owned()
            } else {
                v.path
            },
        })
        .collect();
    let mut r = denied(uid, 422, "Invalid", message, causes);
    if let Some(Status {
        details: Some(details),
        ..
    }) = r.status.as_mut()
    {
        subject.group.clone_into(&mut details.group);
        subject.kind.clone_into(&mut details.kind);
        subject.name.clone_into(&mut details.name);
    }
    r.warnings = verdict.warnings;
    r
}

/// The most useful reason a body is not an AdmissionReview. Runs on the error path
/// only, so the request path parses once.
fn decode_error(body: &[u8], e: &serde_json::Error) -> ReviewError {
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(rename = "apiVersion", borrow)]
        api_version: Option<Cow<'a, str>>,
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') && !e.is_syntax() {
        return ReviewError::Decode("expected a JSON object (an AdmissionReview)".into());
    }
    if let Ok(Probe {
        api_version: Some(v),
    }) = serde_json::from_slice::<Probe<'_>>(body)
        && v != ADMISSION_V1
    {
        return ReviewError::Version(v.into_owned());
    }
    ReviewError::Decode(e.to_string())
}

/// Why the webhook answers a review without deciding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unanswered {
    /// The decision did not finish within the review's deadline.
    Deadline(std::time::Duration),
    /// Too many decisions were running or waiting.
    Overloaded {
        /// Decisions that may run at once.
        running: usize,
        /// Decisions that may wait.
        waiting: usize,
    },
    /// The catalog may be older than its staleness bound: a watch of the cluster has
    /// been failing that long.
    Stale {
        /// How long the oldest failing watch has been failing.
        age: std::time::Duration,
        /// The bound.
        bound: std::time::Duration,
        /// What is failing (the watches' kinds).
        sources: String,
    },
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Deadline(d) => write!(
                f,
                "stackhook could not decide within the review's deadline of {} ms; denied, nothing was admitted",
                d.as_millis()
            ),
            Self::Overloaded { running, waiting } => write!(
                f,
                "stackhook is deciding {running} reviews and has {waiting} waiting, its limit; denied, try again"
            ),
            Self::Stale {
                age,
                bound,
                sources,
            } => write!(
                f,
                "stackhook's catalog may be out of date: its watch of {sources} has been failing for {} s, longer than its staleness bound of {} s; denied, nothing was decided on it",
                age.as_secs(),
                bound.as_secs()
            ),
        }
    }
}

/// The denial for a review the webhook could not decide, echoing its uid and
/// apiVersion (an AdmissionReview, as every answer is; never silence).
pub fn unanswered(body: &[u8], why: &Unanswered) -> Result<(Vec<u8>, Summary), ReviewError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(rename = "apiVersion", borrow)]
        api_version: Cow<'a, str>,
        #[serde(borrow)]
        request: Option<Request<'a>>,
    }
    #[derive(Deserialize)]
    struct Request<'a> {
        #[serde(borrow)]
        uid: Cow<'a, str>,
        #[serde(default, borrow)]
        operation: Cow<'a, str>,
        #[serde(default, borrow)]
        kind: Option<Kind<'a>>,
    }
    #[derive(Deserialize)]
    struct Kind<'a> {
        #[serde(default, borrow)]
        kind: Cow<'a, str>,
    }
    let envelope: Envelope<'_> =
        serde_json::from_slice(body).map_err(|e| decode_error(body, &e))?;
    if envelope.api_version != ADMISSION_V1 {
        return Err(ReviewError::Version(envelope.api_version.into_owned()));
    }
    let request = envelope.request.ok_or(ReviewError::NoRequest)?;
    let (code, reason) = match why {
        Unanswered::Deadline(_) => (504, "Timeout"),
        Unanswered::Overloaded { .. } => (429, "TooManyRequests"),
        Unanswered::Stale { .. } => (503, "ServiceUnavailable"),
    };
    let out = ReviewOut {
        api_version: &envelope.api_version,
        kind: "AdmissionReview",
        response: denied(&request.uid, code, reason, why.to_string(), Vec::new()),
    };
    let bytes = serde_json::to_vec(&out).map_err(|e| ReviewError::Decode(e.to_string()))?;
    let summary = Summary {
        uid: request.uid.into_owned(),
        kind: request
            .kind
            .map(|k| k.kind.into_owned())
            .unwrap_or_default(),
        operation: request.operation.into_owned(),
        object: String::new(),
        allowed: false,
        patched: false,
    };
    Ok((bytes, summary))
}

/// What to do with a review: the engine, injection settings, and (for a server that
/// answers many reviews from one catalog) the plans and patches kept for it. Made by
/// [`Reviewer::new`], with [`Reviewer::keeping`] to reuse plans and patches.
#[derive(Clone, Copy)]
pub struct Reviewer<'a> {
    engine: Engine<'a>,
    inject: &'a InjectSettings,
    memo: Option<&'a InjectMemo>,
}

/// What [`Reviewer::review_kept`] found.
#[derive(Debug)]
pub enum Kept {
    /// The answer, equal to what [`Reviewer::review`] gives.
    Answer(Result<(Vec<u8>, Summary), ReviewError>),
    /// The review needs a decision: a Stack, Depot or workload, or a pod whose plan or
    /// patch must be built.
    NeedsDecision,
}

/// How much work a review may take.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Work {
    /// Only what is kept: no plan or patch built, no object judged.
    KeptOnly,
    /// Whatever the decision takes.
    Decide,
}

/// A review's decision: the response and the object it was about (for logs), or the
/// note that it needs more work than was allowed.
// Returned by value from one call to its caller, as the `Option` it replaces was: a
// box would cost an allocation per review for nothing.
#[allow(clippy::large_enum_variant)]
enum Decision<'r> {
    Response(Response<'r>, String),
    NeedsDecision,
}

/// `namespace/name`, or `name` for a cluster-scoped object (pods may have only
/// `generateName`, then the name is empty).
fn object_name(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}/{name}")
    }
}

/// What a review was about, for logs and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The request's uid.
    pub uid: String,
    /// The object's kind.
    pub kind: String,
    /// The operation.
    pub operation: String,
    /// `namespace/name` (or `name`; pods may have only `generateName`).
    pub object: String,
    /// Whether it was allowed.
    pub allowed: bool,
    /// Whether a patch was returned.
    pub patched: bool,
}

/// Adds `"patch": "<base64>"` as the last field of the response object that closes
/// `out` (`…}}`). Base64's alphabet needs no JSON escaping, so the encoded patch is
/// written as is instead of going through serde's string escaper.
fn append_patch(out: &mut Vec<u8>, encoded: &str) {
    let close = out.split_off(out.len().saturating_sub(2));
    out.reserve(encoded.len() + 12);
    out.extend_from_slice(b",\"patch\":\"");
    out.extend_from_slice(encoded.as_bytes());
    out.push(b'"');
    out.extend_from_slice(&close);
}

impl<'a> Reviewer<'a> {
    /// A reviewer deciding with `engine`, injecting with `inject`, building every plan
    /// and patch anew.
    pub fn new(engine: Engine<'a>, inject: &'a InjectSettings) -> Self {
        Self {
            engine,
            inject,
            memo: None,
        }
    }

    /// The same reviewer, taking plans and patches from `memo` when it has them (and
    /// keeping the ones it builds there).
    #[must_use]
    pub fn keeping(self, memo: &'a InjectMemo) -> Self {
        Self {
            memo: Some(memo),
            ..self
        }
    }

    /// Answers an AdmissionReview (JSON bytes) with the response AdmissionReview.
    pub fn review(&self, body: &[u8]) -> Result<(Vec<u8>, Summary), ReviewError> {
        match self.answer(body, Work::Decide) {
            Kept::Answer(r) => r,
            // Deciding always answers; kept for the type's sake.
            Kept::NeedsDecision => Err(ReviewError::Decode("no answer".into())),
        }
    }

    /// [`Reviewer::review`] if the answer needs no work beyond reading the review:
    /// a pod whose plan and patch are kept, an object stackhook does not judge.
    /// Equal to `review` whenever it answers. Without kept plans (no
    /// [`Reviewer::keeping`]) every review needs a decision.
    pub fn review_kept(&self, body: &[u8]) -> Kept {
        if self.memo.is_none() {
            return Kept::NeedsDecision;
        }
        self.answer(body, Work::KeptOnly)
    }

    fn answer(&self, body: &[u8], work: Work) -> Kept {
        // A pod the view cannot read is read again as text, to be answered with why.
        let review = match decode::read(body, Mode::Pods) {
            Ok(r) => r,
            Err(_) if work == Work::KeptOnly => return Kept::NeedsDecision,
            Err(_) => match decode::read(body, Mode::Text) {
                Ok(r) => r,
                Err(e) => return Kept::Answer(Err(decode_error(body, &e))),
            },
        };
        if review.api_version != ADMISSION_V1 {
            return Kept::Answer(Err(ReviewError::Version(review.api_version.into_owned())));
        }
        let Some(request) = review.request else {
            return Kept::Answer(Err(ReviewError::NoRequest));
        };
        let uid: &str = &request.uid;
        let (response, object) = match self.decide(&request, work) {
            Decision::Response(response, object) => (response, object),
            Decision::NeedsDecision => return Kept::NeedsDecision,
        };
        let summary = Summary {
            uid: uid.to_owned(),
            kind: request.kind.kind.to_string(),
            operation: request.operation.to_string(),
            object,
            allowed: response.allowed,
            patched: response.patch.is_some(),
        };
        let mut out = ReviewOut {
            api_version: &review.api_version,
            kind: "AdmissionReview",
            response,
        };
        let patch = out.response.patch.take();
        let mut bytes = match serde_json::to_vec(&out) {
            Ok(b) => b,
            Err(e) => return Kept::Answer(Err(ReviewError::Decode(e.to_string()))),
        };
        if let Some(encoded) = patch {
            append_patch(&mut bytes, &encoded);
        }
        Kept::Answer(Ok((bytes, summary)))
    }

    /// The decision, within `work`.
    fn decide<'r>(&self, request: &'r RequestIn<'r>, work: Work) -> Decision<'r> {
        let build = work == Work::Decide;
        let uid: &str = &request.uid;
        let namespace = request.namespace.as_deref().unwrap_or_default();
        // A pod being created comes read already (see `decode`); other objects as text.
        let (raw, view) = match (request.operation.as_ref(), &request.object) {
            ("DELETE", _) => (request.old_object, None),
            (_, Some(ObjectIn::Raw(raw))) => (Some(*raw), None),
            (_, Some(ObjectIn::Pod(view))) => (None, Some(&**view)),
            (_, None) => (None, None),
        };
        // Pods created from a template have only a generateName: the request's name
        // (if any) is what there is.
        let name = request.name.as_deref().unwrap_or_default();
        let who = object_name(namespace, name);

        if request.kind.group.is_empty() && request.kind.kind == "Pod" {
            if request.operation != "CREATE" {
                return Decision::Response(allowed(uid, Vec::new()), who);
            }
            // A pod being created may not carry its namespace yet; the request does.
            let (engine, config, memo) = (&self.engine, self.inject, self.memo);
            let outcome = match (view, raw) {
                (Some(view), _) if !build => {
                    let kept = memo.and_then(|memo| {
                        inject::kept_patch_of(view, namespace, engine.catalog, memo)
                    });
                    match kept {
                        Some(outcome) => outcome,
                        None => return Decision::NeedsDecision,
                    }
                }
                (_, Some(_)) if !build => return Decision::NeedsDecision,
                (Some(view), _) => inject::encoded_patch_of(view, namespace, engine, config, memo),
                (None, Some(raw)) => {
                    inject::encoded_patch(raw.get(), namespace, engine, config, memo)
                }
                (None, None) => {
                    return Decision::Response(
                        denied(
                            uid,
                            400,
                            "BadRequest",
                            "the review carries no pod object".into(),
                            Vec::new(),
                        ),
                        who,
                    );
                }
            };
            let response = match outcome {
                PodOutcome::NotOurs => allowed(uid, Vec::new()),
                PodOutcome::Patch(injected) => {
                    let mut r = allowed(uid, injected.warnings.to_vec());
                    r.patch_type = Some("JSONPatch");
                    r.patch = Some(injected.patch);
                    r
                }
                PodOutcome::Refused(e) => denied(uid, 403, "Forbidden", e.to_string(), Vec::new()),
                PodOutcome::Unreadable(e) => {
                    denied(uid, 400, "BadRequest", e.to_string(), Vec::new())
                }
            };
            return Decision::Response(response, who);
        }

        if request.kind.group != GROUP {
            return Decision::Response(allowed(uid, Vec::new()), who);
        }
        let operation = match request.operation.as_ref() {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            _ => return Decision::Response(allowed(uid, Vec::new()), who),
        };
        if !build {
            return Decision::NeedsDecision;
        }
        let object = match raw.map(|r| serde_json::from_str::<serde_json::Value>(r.get())) {
            Some(Ok(object)) => object,
            // Nesting deeper than serde_json's limit (128) is refused here, by name.
            Some(Err(e)) => {
                return Decision::Response(
                    denied(
                        uid,
                        400,
                        "BadRequest",
                        format!("the review's object cannot be read: {e}"),
                        Vec::new(),
                    ),
                    who,
                );
            }
            None => {
                return Decision::Response(
                    denied(
                        uid,
                        400,
                        "BadRequest",
                        "the review carries no object".into(),
                        Vec::new(),
                    ),
                    who,
                );
            }
        };
        let name = object
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(name)
            .to_owned();
        let who = format!("{} {}", request.kind.kind, object_name(namespace, &name));
        // An UPDATE is ratcheted against the object it replaces (a missing or
        // unreadable oldObject: judged in full).
        let old = match (operation, request.old_object) {
            (Operation::Update, Some(raw)) => {
                serde_json::from_str::<serde_json::Value>(raw.get()).ok()
            }
            _ => None,
        };
        if operation == Operation::Update
            && object
                .pointer("/metadata/deletionTimestamp")
                .is_some_and(|t| !t.is_null())
        {
            // Being deleted: whatever it is now, the finalizers' removal must go through.
            return Decision::Response(allowed(uid, Vec::new()), who);
        }
        let new = old.as_ref().map(|_| object.clone());
        let (response, who) = match model::parse_document(object) {
            Ok(Parsed::Resource(resource)) => {
                let verdict = match (&old, &new) {
                    (Some(old), Some(new)) => self.engine.update(&resource, old, new),
                    _ => self.engine.resource(&resource, operation),
                };
                let subject = Subject {
                    group: &request.kind.group,
                    kind: &request.kind.kind,
                    name: &name,
                };
                (verdict_response(uid, &who, &subject, verdict), who)
            }
            Ok(Parsed::Skipped { .. }) => (allowed(uid, Vec::new()), who),
            Err(e) => {
                let causes = e
                    .field_path()
                    .map(|p| {
                        vec![Cause {
                            reason: "FieldValueInvalid",
                            message: e.to_string(),
                            field: p.to_owned(),
                        }]
                    })
                    .unwrap_or_default();
                (denied(uid, 400, "BadRequest", e.to_string(), causes), who)
            }
        };
        Decision::Response(response, who)
    }
}

#[cfg(test)]
mod tests;
