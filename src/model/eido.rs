//! NENA's Emergency Incident Data Object (NENA-STA-021.1, JSON, `eidoVersion`
//! "1.0"): an incident as an EIDO for another centre or CAD system, and an
//! EIDO from one as an intake. README's "Exchange with other systems" maps
//! our fields to the EIDO's and lists the gaps; `assets/eido/` holds the
//! JSON Schema of the subset we write, which tests check exports against.
//!
//! Owns: the mapping both ways. Must not touch: I/O, HTTP.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;

/// How many notes an intake takes, and how long each: joined into the
/// narrative, they stay within its 10,000 characters.
const MAX_NOTES: usize = 20;
const MAX_NOTE_CHARS: usize = 450;

/// The only version the standard's schema allows.
pub const EIDO_VERSION: &str = "1.0";

/// What an export needs besides the incident.
pub struct ExportContext<'a> {
    /// This centre's agency identifier (e.g. "110.jl.gov.cn"): the owner of
    /// every component and the domain of every `$id`.
    pub agency: &'a str,
    pub supplements: &'a [Supplement],
    /// The unit dispatched, if any.
    pub unit: Option<&'a Unit>,
    pub referrals: &'a [Referral],
}

/// The incident tracking identifier: the EIDO's `$id`, unique across
/// centres because it carries the agency's domain.
pub fn tracking_id(agency: &str, id: IncidentId) -> String {
    format!("urn:emergency:uid:incidentid:{id}:{agency}")
}

/// Our category as a common incident type. NENA's Incident Type registry is
/// not published in machine-readable form; these are our own labels, stable,
/// with our code in `incidentTypeInternalCode` for a peer that knows it.
pub fn common_type(category: Option<Category>) -> &'static str {
    match category {
        Some(Category::Criminal) => "Crime",
        Some(Category::PublicOrder) => "Disturbance",
        Some(Category::MassIncident) => "CivilUnrest",
        Some(Category::DisasterAccident) => "Accident",
        Some(Category::OtherCrimeUrgent) => "Crime",
        Some(Category::PublicSafetyHelp) => "Assistance",
        Some(Category::PoliceMisconduct) => "Complaint",
        Some(Category::NonPolice) => "NonEmergency",
        Some(Category::Invalid) => "Invalid",
        None => "Unknown",
    }
}

/// P1 is the EIDO's highest call priority, P4 its low.
fn call_priority(p: Priority) -> &'static str {
    match p {
        Priority::P1 => "highest",
        Priority::P2 => "high",
        Priority::P3 => "normal",
        Priority::P4 => "low",
    }
}

fn unit_status(s: UnitStatus) -> &'static str {
    match s {
        UnitStatus::Available => "Available",
        UnitStatus::Assigned => "Dispatched",
        UnitStatus::EnRoute => "Enroute",
        UnitStatus::OnScene => "OnScene",
        UnitStatus::OffDuty => "OutOfService",
    }
}

/// The responder type of a linked agency (IANA `urn:emergency:service:
/// responder` without its prefix) where one fits.
fn agency_type(a: Agency) -> &'static str {
    match a {
        Agency::Ambulance => "ems",
        Agency::Fire => "fire",
        _ => "other",
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn reference(id: &str) -> Value {
    json!({ "$ref": id })
}

/// Escapes text for the HTML the notes component carries.
fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn unhtml(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// A PIDF-LO point, as `locationByValue` carries a position.
fn pidf_point(p: geo::GeoPoint, at: DateTime<Utc>) -> String {
    format!(
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\" \
         xmlns:gml=\"http://www.opengis.net/gml\" entity=\"pres:caller@jiejing\"><tuple id=\"t\"><status>\
         <gp:geopriv><gp:location-info><gml:Point srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>{:.6} {:.6}</gml:pos>\
         </gml:Point></gp:location-info><gp:usage-rules/></gp:geopriv></status><timestamp>{}</timestamp></tuple></presence>",
        p.lat,
        p.lon,
        time(at)
    )
}

/// The first well-formed `<gml:pos>latitude longitude</gml:pos>` of a
/// PIDF-LO document: two plain decimals (no exponent, no sign but a minus),
/// latitude within ±90 and longitude within ±180, as the API schema's
/// pattern states them.
pub fn pidf_position(xml: &str) -> Option<geo::GeoPoint> {
    const OPEN: &str = "<gml:pos>";
    const CLOSE: &str = "</gml:pos>";
    let mut rest = xml;
    while let Some(i) = rest.find(OPEN) {
        rest = &rest[i + OPEN.len()..];
        let Some(end) = rest.find(CLOSE) else { break };
        let tokens: Vec<&str> = rest[..end]
            .split([' ', '\t', '\r', '\n'])
            .filter(|t| !t.is_empty())
            .collect();
        if let [lat, lon] = tokens[..]
            && let (Some(lat), Some(lon)) = (degrees(lat, 90), degrees(lon, 180))
        {
            return Some(geo::GeoPoint::new(lat, lon));
        }
    }
    None
}

/// A plain decimal within ±`limit` degrees: at most three integer digits
/// with no leading zero beyond two, a fraction only of digits; the limit
/// itself only with a zero fraction.
fn degrees(token: &str, limit: u32) -> Option<f64> {
    let unsigned = token.strip_prefix('-').unwrap_or(token);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let value: u32 = int.parse().ok()?;
    let int_ok = match int.len() {
        1 | 2 => value < limit || (value == limit && limit < 100),
        3 => (100..limit).contains(&value) || value == limit,
        _ => false,
    };
    let at_limit = value == limit;
    if !int_ok || (at_limit && frac.is_some_and(|f| f.bytes().any(|b| b != b'0'))) {
        return None;
    }
    token.parse().ok()
}

/// The incident as an EIDO.
pub fn to_eido(inc: &Incident, cx: &ExportContext) -> Value {
    let agency = cx.agency;
    let me = tracking_id(agency, inc.id);
    let part = |kind: &str, n: usize| format!("{me}:{kind}:{n}");
    let prologue = |id: &str, at: DateTime<Utc>| {
        json!({
            "$id": id,
            "lastUpdateTimeStamp": time(at),
            "updatedByAgencyReference": reference(agency),
        })
    };
    let with = |mut base: Value, body: Value| {
        if let (Some(b), Value::Object(extra)) = (base.as_object_mut(), body) {
            b.extend(extra);
        }
        base
    };
    let updated = inc.updated_at;

    let mut agencies = vec![with(
        prologue(agency, updated),
        json!({
            "agencyRoleDescriptionRegistryText": ["CallReceiving", "Dispatch"],
            "agencyType": ["police"],
            "incidentOwningAgencyIndicator": true,
        }),
    )];
    for r in cx.referrals {
        agencies.push(with(
            prologue(&format!("{}.agency.{agency}", r.agency.as_str()), r.created_at),
            json!({
                "agencyRoleDescriptionRegistryText": ["Referral"],
                "agencyType": [agency_type(r.agency)],
                "incidentOwningAgencyIndicator": false,
            }),
        ));
    }

    // The operators who held or handled the call, and who wrote its lines.
    let mut agents: Vec<(String, Value)> = Vec::new();
    let mut agent = |user: &UserRef, role: &str| -> String {
        let id = format!("{}@{agency}", user.name);
        if !agents.iter().any(|(a, _)| *a == id) {
            agents.push((
                id.clone(),
                with(
                    prologue(&id, updated),
                    json!({
                        "agentRoleRegistryText": [role],
                        "agencyReference": reference(agency),
                    }),
                ),
            ));
        }
        id
    };
    let taker = inc
        .handled_by
        .as_ref()
        .or(inc.holder.as_ref())
        .map(|u| agent(u, "Call Taking"));

    let mut notes = Vec::new();
    if !inc.narrative.is_empty() {
        let mut n = with(
            prologue(&part("notes", 0), inc.received_at),
            json!({ "notesActionComments": html(&inc.narrative) }),
        );
        if let Some(t) = &taker {
            n["agentReference"] = reference(t);
        }
        notes.push(n);
    }
    for s in cx.supplements {
        let author = agent(&s.author, "Call Taking");
        notes.push(with(
            prologue(&part("notes", notes.len()), s.at),
            json!({ "notesActionComments": html(&s.text), "agentReference": reference(&author) }),
        ));
    }
    let note_refs: Vec<Value> = notes
        .iter()
        .map(|n| reference(n["$id"].as_str().unwrap_or_default()))
        .collect();

    let mut locations = Vec::new();
    if !inc.location.text.is_empty() || inc.location.point().is_some() {
        let mut l = with(
            prologue(&part("location", 0), updated),
            json!({
                "locationTypeDescriptionRegistryText": "Incident",
                "locationDescriptionText": inc.location.text,
            }),
        );
        if let Some(p) = inc.location.point() {
            l["locationByValue"] = Value::String(pidf_point(p, inc.received_at));
        }
        let mut local = Vec::new();
        if let Some(j) = &inc.location.jurisdiction {
            local.push(format!("jurisdiction:{j}"));
        }
        if let Some(s) = inc.location.source {
            local.push(format!("source:{}", s.as_str()));
        }
        if !local.is_empty() {
            l["localIdentifier"] = json!(local);
        }
        locations.push(l);
    }
    let location_refs: Vec<Value> = locations
        .iter()
        .map(|l| reference(l["$id"].as_str().unwrap_or_default()))
        .collect();

    let call_id = format!("urn:emergency:uid:callid:{}:{agency}", inc.id);
    let mut callbacks = Vec::new();
    let number = inc.caller.callback_number.as_ref().or(inc.caller.phone.as_ref());
    if let Some(p) = number {
        callbacks.push(with(
            prologue(&part("callback", 0), inc.received_at),
            json!({ "callBackInformationUri": [format!("tel:{}", p.as_str())] }),
        ));
    }
    let mut person = with(
        prologue(&part("person", 0), inc.received_at),
        json!({
            "personIncidentRoleRegistryText": ["Caller"],
            "callIdentifier": [call_id],
        }),
    );
    let mut contact = serde_json::Map::new();
    if let Some(n) = &inc.caller.name {
        contact.insert("PersonName".into(), json!({ "PersonFullName": n }));
    }
    if let Some(w) = &inc.caller.wechat_id {
        contact.insert("WeChatId".into(), json!(w));
    }
    if let Some(w) = &inc.caller.web_account {
        contact.insert("WebAccount".into(), json!(w));
    }
    if !contact.is_empty() {
        person["ncPersonComponent"] = Value::Object(contact);
    }
    if let Some(cb) = callbacks.first() {
        person["callBackReference"] = reference(cb["$id"].as_str().unwrap_or_default());
    }
    if !location_refs.is_empty() {
        person["locationReference"] = json!(location_refs);
    }
    let person_refs = vec![reference(person["$id"].as_str().unwrap_or_default())];

    let state = match inc.status {
        Status::New => "callBegin",
        Status::InProgress => "callAnswered",
        _ => "callEnd",
    };
    let mut call = with(
        prologue(&call_id, inc.received_at),
        json!({
            "callStateRegistryText": state,
            "standardPrimaryCallType": "emergency",
            "direction": "incoming",
            "callStartTimestamp": time(inc.received_at),
            "localCallType": inc.channel.as_str(),
            "priorityIdentifier": call_priority(inc.effective_priority()),
            "personReference": person_refs,
        }),
    );
    if let Some(t) = inc.claimed_at {
        call["answerDate"] = json!(time(t));
    }
    if let Some(t) = &taker {
        call["agentReference"] = json!([reference(t)]);
    }
    if !location_refs.is_empty() {
        call["locationReference"] = json!(location_refs);
    }
    if let Some(cb) = callbacks.first() {
        call["callBackReference"] = reference(cb["$id"].as_str().unwrap_or_default());
    }

    let category = inc.effective_category();
    let priority = inc.effective_priority();
    let mut incident = with(
        prologue(&part("incident", 0), updated),
        json!({
            "incidentTypeCommonRegistryText": common_type(category),
            "incidentStatusInternalText": [inc.status.as_str()],
            "incidentStatusCommonRegistryText": [if inc.status.is_final() { "Closed" } else { "Open" }],
            "internalIncidentId": inc.id.to_string(),
            "incidentPriorityInternalText": priority.as_str(),
            "incidentCommonPriorityNumber": priority.index() + 1,
            "personReference": person_refs,
        }),
    );
    if let Some(c) = category {
        incident["incidentTypeInternalCode"] = json!(c.as_str());
    }
    if let Some(t) = &taker {
        incident["agentReference"] = json!([reference(t)]);
    }
    if !location_refs.is_empty() {
        incident["locationReference"] = json!(location_refs);
    }
    if !note_refs.is_empty() {
        incident["notesReference"] = json!(note_refs);
    }
    if let Some(r) = inc.close_reason {
        incident["dispositionComponent"] = json!([with(
            prologue(&part("disposition", 0), inc.closed_at.unwrap_or(updated)),
            json!({ "dispositionCommonRegistryCode": r.as_str(), "dispositionPrimaryIndicator": true }),
        )]);
    }

    let mut resources = Vec::new();
    let mut dispatches = Vec::new();
    if let Some(u) = cx.unit.filter(|u| Some(u.id) == inc.unit_id) {
        let rid = format!("unit:{}@{agency}", u.code);
        let mut r = with(
            prologue(&rid, u.status_since.unwrap_or(updated)),
            json!({
                "emergencyResourceTypeCommonRegistryText": u.kind.as_str(),
                "primaryUnitStatusRegistryText": unit_status(if u.incident_id == Some(inc.id) { u.status } else { UnitStatus::Available }),
                "secondaryUnitStatusRegistryText": [],
                "resourceAttributeRegistryText": [],
                "agentReference": [],
                "emergencyResourceName": u.name,
                "unitStatusInternal": [u.status.as_str()],
            }),
        );
        if u.incident_id == Some(inc.id) {
            r["activeOnIncidentId"] = json!(me);
        }
        resources.push(r);
        let mut d = with(
            prologue(&part("dispatch", 0), inc.dispatched_at.unwrap_or(updated)),
            json!({ "agencyReference": reference(agency), "emergencyResourceReference": [reference(&rid)] }),
        );
        if let Some(t) = &taker {
            d["agentReference"] = reference(t);
        }
        dispatches.push(d);
    }
    for (k, r) in cx.referrals.iter().enumerate() {
        dispatches.push(with(
            prologue(&part("referral", k), r.created_at),
            json!({ "agencyReference": reference(&format!("{}.agency.{agency}", r.agency.as_str())) }),
        ));
    }

    let links: Vec<Value> = inc
        .duplicate_of
        .map(|of| {
            with(
                prologue(&part("link", 0), updated),
                json!({
                    "incidentTrackingIdentifier": tracking_id(agency, of),
                    "linkDirectionCode": "PARENT",
                    "transactionReasonText": "duplicate",
                }),
            )
        })
        .into_iter()
        .collect();

    let mut eido = with(
        prologue(&me, updated),
        json!({
            "eidoVersion": EIDO_VERSION,
            "issuingElementIdentification": format!("jiejing@{agency}"),
            "agencyComponent": agencies,
            "incidentComponent": incident,
            "callComponent": [call],
            "personComponent": [person],
        }),
    );
    let mut put = |name: &str, items: Vec<Value>| {
        if !items.is_empty() {
            eido[name] = Value::Array(items);
        }
    };
    put("agentComponent", agents.into_iter().map(|(_, a)| a).collect());
    put("locationComponent", locations);
    put("callbackComponent", callbacks);
    put("notesComponent", notes);
    put("emergencyResourceComponent", resources);
    put("dispatchComponent", dispatches);
    put("linkComponent", links);
    eido
}

// ---------------------------------------------------------------- import: only what an intake needs

/// An EIDO as received: the components an intake is made of. Every EIDO
/// object is open, so fields we do not read are accepted and ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EidoIn {
    /// The incident tracking identifier: a retry with the same one returns
    /// the incident made the first time.
    #[serde(rename = "$id")]
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub id: String,
    /// "1.0", the only version of NENA-STA-021.1.
    #[schema(pattern = "^1\\.0$")]
    pub eido_version: String,
    #[schema(value_type = Vec<Object>, min_items = 1)]
    pub agency_component: Vec<serde_json::Map<String, Value>>,
    #[serde(default, deserialize_with = "object")]
    pub incident_component: Option<IncidentIn>,
    #[serde(default, deserialize_with = "objects")]
    pub call_component: Vec<CallIn>,
    #[serde(default, deserialize_with = "objects")]
    pub location_component: Vec<LocationIn>,
    #[serde(default, deserialize_with = "objects")]
    pub person_component: Vec<PersonIn>,
    #[serde(default, deserialize_with = "objects")]
    pub callback_component: Vec<CallbackIn>,
    /// What was reported: joined, in order, into the call's narrative, so
    /// at most 20 notes of at most 450 characters each.
    #[schema(min_items = 1, max_items = 20)]
    #[serde(default, deserialize_with = "objects")]
    pub notes_component: Vec<NotesIn>,
}

/// A component is a JSON object. Serde would also read a struct from an
/// array of its fields in order; an EIDO never means that.
fn object<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    match Option::<serde_json::Map<String, Value>>::deserialize(d)? {
        Some(m) => serde_json::from_value(Value::Object(m))
            .map(Some)
            .map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

fn objects<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<serde_json::Map<String, Value>>::deserialize(d)?
        .into_iter()
        .enumerate()
        .map(|(k, m)| {
            serde_json::from_value(Value::Object(m)).map_err(|e| serde::de::Error::custom(format!("[{k}]: {e}")))
        })
        .collect()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentIn {
    pub incident_type_common_registry_text: String,
    pub incident_type_internal_code: Option<String>,
    pub incident_common_priority_number: Option<i32>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallIn {
    pub call_start_timestamp: DateTime<Utc>,
    /// Only an incoming call is an intake.
    #[schema(pattern = "^incoming$")]
    pub direction: String,
    /// voice, sms, wechat or web; anything else is taken as voice.
    pub local_call_type: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocationIn {
    #[schema(max_length = 200, pattern = "^[^\\u0000]*$")]
    pub location_description_text: Option<String>,
    /// PIDF-LO with a `<gml:pos>latitude longitude</gml:pos>`.
    #[schema(
        max_length = 20000,
        pattern = "<gml:pos>[ \\t\\r\\n]*-?(90(\\.0+)?|[0-8]?[0-9](\\.[0-9]+)?)[ \\t\\r\\n]+-?(180(\\.0+)?|(1[0-7][0-9]|[0-9]?[0-9])(\\.[0-9]+)?)[ \\t\\r\\n]*</gml:pos>"
    )]
    pub location_by_value: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonIn {
    pub person_incident_role_registry_text: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub nc_person_component: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackIn {
    /// A `tel:` number is the caller's (a mainland number, +86 or not);
    /// `sip:` and other schemes are ignored.
    #[serde(default)]
    #[schema(inline, value_type = Vec<CallbackUri>)]
    pub call_back_information_uri: Vec<String>,
}

/// One callback URI, as the schema states it.
#[derive(utoipa::ToSchema)]
#[schema(pattern = "^(?!tel:)[^\\u0000]*$|^tel:(\\+86)?(1[3-9][0-9]{9}|0[0-9]{9,11}|[2-9][0-9]{6,7}|[1-9][0-9]{4})$")]
#[allow(dead_code, reason = "a schema of a string, never built")]
pub struct CallbackUri(String);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotesIn {
    /// HTML-escaped text, not blank.
    #[schema(
        min_length = 1,
        max_length = 450,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub notes_action_comments: String,
}

/// Which component an intake field came from, for an error a peer can act on.
fn component_of(field: &str) -> &'static str {
    match field {
        "phone" | "callback_number" => "callbackComponent[0].callBackInformationUri",
        "caller_name" => "personComponent[0].ncPersonComponent.PersonName.PersonFullName",
        "location" => "locationComponent[0].locationDescriptionText",
        "lat" | "lon" => "locationComponent[0].locationByValue",
        "narrative" => "notesComponent",
        "received_at" => "callComponent[0].callStartTimestamp",
        "wechat_id" | "web_account" => "personComponent[0].ncPersonComponent",
        _ => "incidentComponent",
    }
}

impl EidoIn {
    /// The intake this EIDO stands for, checked as any intake is; an error
    /// names the EIDO component at fault.
    pub fn to_intake(&self, now: DateTime<Utc>) -> Result<IntakeRequest, DomainError> {
        if self.eido_version != EIDO_VERSION {
            return Err(DomainError::invalid(
                "eidoVersion",
                format!("eidoVersion must be \"{EIDO_VERSION}\" (NENA-STA-021.1)"),
            ));
        }
        if self.id.trim().is_empty() || self.id.chars().count() > 1000 {
            return Err(DomainError::invalid(
                "$id",
                "the incident tracking identifier ($id) must be 1–1000 characters, not blank",
            ));
        }
        if !(1..=MAX_NOTES).contains(&self.notes_component.len()) {
            return Err(DomainError::invalid(
                "notesComponent",
                format!("send 1–{MAX_NOTES} notes saying what was reported (notesComponent)"),
            ));
        }
        for (k, n) in self.notes_component.iter().enumerate() {
            let text = &n.notes_action_comments;
            if text.trim().is_empty() || text.chars().count() > MAX_NOTE_CHARS || text.contains('\0') {
                return Err(DomainError::invalid(
                    format!("notesComponent[{k}].notesActionComments"),
                    format!("a note must be 1–{MAX_NOTE_CHARS} characters of text, not blank"),
                ));
            }
        }
        for (k, c) in self.callback_component.iter().enumerate() {
            for (j, uri) in c.call_back_information_uri.iter().enumerate() {
                // Exactly the numbers the schema states: digits only, +86 or not.
                let bad = match uri.strip_prefix("tel:") {
                    Some(n) => {
                        let digits = n.strip_prefix("+86").unwrap_or(n);
                        digits.starts_with("0086")
                            || !digits.chars().all(|c| c.is_ascii_digit())
                            || CallerPhone::parse(digits).is_err()
                    }
                    None => uri.contains('\0'),
                };
                if bad {
                    return Err(DomainError::invalid(
                        format!("callbackComponent[{k}].callBackInformationUri[{j}]"),
                        "a tel: callback must be a mainland number (tel:13804310001, tel:+8613804310001)",
                    ));
                }
            }
        }
        if let Some((k, _)) = self
            .location_component
            .iter()
            .enumerate()
            .find(|(_, l)| l.location_by_value.as_ref().is_some_and(|v| v.chars().count() > 20_000))
        {
            return Err(DomainError::invalid(
                format!("locationComponent[{k}].locationByValue"),
                "locationByValue is too long (at most 20,000 characters)",
            ));
        }
        if self.agency_component.is_empty() {
            return Err(DomainError::invalid(
                "agencyComponent",
                "an EIDO names at least one agency (agencyComponent)",
            ));
        }
        let call = self.call_component.first();
        if let Some(c) = call
            && c.direction != "incoming"
        {
            return Err(DomainError::invalid(
                "callComponent[0].direction",
                "only an incoming call can be taken in as an intake",
            ));
        }
        let channel = call
            .and_then(|c| c.local_call_type.as_deref())
            .and_then(|t| t.parse::<Channel>().ok())
            .unwrap_or(Channel::Voice);
        let phone = self
            .callback_component
            .iter()
            .flat_map(|c| &c.call_back_information_uri)
            .find_map(|u| u.strip_prefix("tel:"))
            .map(|p| p.trim_start_matches("+86").to_owned());
        let caller = self
            .person_component
            .iter()
            .find(|p| p.person_incident_role_registry_text.iter().any(|r| r == "Caller"));
        let contact = |key: &str| {
            caller
                .and_then(|p| p.nc_person_component.as_ref())
                .and_then(|c| c.get(key))
        };
        let name = contact("PersonName")
            .and_then(|n| n.get("PersonFullName"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let location = self.location_component.first();
        let point = match location.and_then(|l| l.location_by_value.as_deref()) {
            Some(xml) => Some(pidf_position(xml).ok_or_else(|| {
                DomainError::invalid(
                    "locationComponent[0].locationByValue",
                    "locationByValue has no readable <gml:pos>latitude longitude</gml:pos>",
                )
            })?),
            None => None,
        };
        let narrative = self
            .notes_component
            .iter()
            .map(|n| unhtml(n.notes_action_comments.trim()))
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        if narrative.is_empty() {
            return Err(DomainError::invalid(
                "notesComponent",
                "an EIDO taken in as a call needs a note saying what was reported (notesComponent)",
            ));
        }
        // The rest of an EIDO may hold anything; what becomes our record
        // may not hold NUL, which PostgreSQL cannot store.
        let texts = [
            ("$id", Some(self.id.as_str())),
            ("notesComponent", Some(narrative.as_str())),
            (
                "locationComponent[0].locationDescriptionText",
                location.and_then(|l| l.location_description_text.as_deref()),
            ),
            ("personComponent[0].ncPersonComponent", name.as_deref()),
            (
                "personComponent[0].ncPersonComponent",
                contact("WeChatId").and_then(Value::as_str),
            ),
            (
                "personComponent[0].ncPersonComponent",
                contact("WebAccount").and_then(Value::as_str),
            ),
            ("callbackComponent[0].callBackInformationUri", phone.as_deref()),
        ];
        if let Some((field, _)) = texts.iter().find(|(_, t)| t.is_some_and(|t| t.contains('\0'))) {
            return Err(DomainError::invalid(
                *field,
                "text may not contain the NUL character (\\u0000)",
            ));
        }
        let incident = self.incident_component.as_ref();
        let req = IntakeRequest {
            channel,
            phone,
            caller_name: name,
            wechat_id: contact("WeChatId").and_then(Value::as_str).map(str::to_owned),
            web_account: contact("WebAccount").and_then(Value::as_str).map(str::to_owned),
            callback_number: None,
            location: location.and_then(|l| l.location_description_text.clone()),
            lat: point.map(|p| p.lat),
            lon: point.map(|p| p.lon),
            narrative,
            // Another centre's clock may run ahead of ours: a start in our
            // future is taken as now rather than refusing the call.
            received_at: call.map(|c| c.call_start_timestamp.min(now)),
            disconnect: None,
            category: incident
                .and_then(|i| i.incident_type_internal_code.as_deref())
                .and_then(|c| c.parse().ok()),
            agency: None,
            priority: incident
                .and_then(|i| i.incident_common_priority_number)
                .filter(|n| (1..=4).contains(n))
                .map(|n| Priority::ALL[(n - 1) as usize]),
        };
        match req.clone().parse(now) {
            Ok(_) => Ok(req),
            Err(DomainError::Invalid { field, message }) => Err(DomainError::invalid(component_of(&field), message)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_survives_pidf_lo() {
        let p = geo::GeoPoint::new(42.904812, 129.513901);
        let xml = pidf_point(p, Utc::now());
        assert_eq!(pidf_position(&xml), Some(p));
        assert_eq!(pidf_position("<gml:pos>abc</gml:pos>"), None);
        assert_eq!(pidf_position("<gml:pos>91 0</gml:pos>"), None);
        assert_eq!(pidf_position("<gml:pos>1e1 0</gml:pos>"), None, "no exponent");
        assert_eq!(pidf_position("<gml:pos>1 2 3</gml:pos>"), None, "two numbers only");
        assert_eq!(pidf_position("<gml:pos>90.5 0</gml:pos>"), None);
        assert_eq!(
            pidf_position("<gml:pos>90.0 -180</gml:pos>"),
            Some(geo::GeoPoint::new(90.0, -180.0))
        );
        assert_eq!(
            pidf_position("<gml:pos>099 0</gml:pos>"),
            None,
            "as the schema's pattern"
        );
        assert_eq!(
            pidf_position("<gml:pos>x</gml:pos><gml:pos>\t43.5 125.25 </gml:pos>"),
            Some(geo::GeoPoint::new(43.5, 125.25)),
            "the first well-formed one"
        );
    }

    #[test]
    fn notes_escape_html_both_ways() {
        let t = "他说<b>有刀</b> & 跑了";
        assert_eq!(unhtml(&html(t)), t);
    }
}
