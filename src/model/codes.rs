//! The closed vocabularies of the domain: channels, categories, agencies,
//! priorities, statuses, roles. Each is stored and sent as a stable string code
//! (the codes of `assets/triage/LABELS.md` where one exists).

/// A closed vocabulary with stable string codes, for code generic over
/// which one (a panel's combo box, an export column). Its two names are the
/// inherent ones, so a code is `as_str` and the list `ALL` wherever it is used.
pub trait Coded: Copy + PartialEq + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
}

/// Declares a string-coded enum with serde, OpenAPI schema, `as_str`, `FromStr`
/// and `ALL`, so a code is spelled exactly once.
macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $code)] $variant),+ }

        // Written by hand, not derived: the derive cannot see a `rename`
        // that arrives through this macro and would publish the Rust
        // variant names ("Ambulance") while the wire carries "120".
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .enum_values(Some([$($code),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// Position in [`Self::ALL`] (declaration order): the index of
            /// this code in per-code arrays such as a model's outputs.
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl Coded for $name {
            const ALL: &'static [$name] = <$name>::ALL;
            fn as_str(self) -> &'static str {
                <$name>::as_str(self)
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::model::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok($name::$variant),)+
                    _ => Err(crate::model::DomainError::invalid(
                        stringify!($name),
                        format!("unknown {} {s:?}; expected one of: {}", stringify!($name), [$($code),+].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum! {
    /// The four intake channels fused into one queue.
    pub enum Channel { Voice = "voice", Sms = "sms", Wechat = "wechat", Web = "web" }
}

string_enum! {
    /// Why a call may be a duplicate of another (see `model::duplicates`);
    /// the console words each in the operator's language.
    pub enum DuplicateReason {
        /// The same caller number called again.
        SameCaller = "same_caller",
        /// The same location text, or coordinates within 500 m.
        SamePlace = "same_place",
        /// The same police station's area, and no closer match.
        SameArea = "same_area",
        /// The same category (the operator's, else the suggestion's).
        SameKind = "same_kind",
        /// The narratives share much of their wording.
        SimilarText = "similar_text",
    }
}

string_enum! {
    /// The "seven things" 110 handles, plus referrals and invalid calls.
    pub enum Category {
        Criminal = "criminal",
        PublicOrder = "public_order",
        MassIncident = "mass_incident",
        DisasterAccident = "disaster_accident",
        OtherCrimeUrgent = "other_crime_urgent",
        PublicSafetyHelp = "public_safety_help",
        PoliceMisconduct = "police_misconduct",
        NonPolice = "non_police",
        Invalid = "invalid",
    }
}

impl Category {
    /// Whether the police handle this category themselves (the seven things).
    pub fn is_police(self) -> bool {
        !matches!(self, Category::NonPolice | Category::Invalid)
    }
}

string_enum! {
    /// Linked agencies that take referrals (分流) or co-notifications.
    pub enum Agency {
        Ambulance = "120",
        Fire = "119",
        Hotline12345 = "12345",
        MarketRegulation = "market_regulation",
        CivilAffairs = "civil_affairs",
        EmergencyMgmt = "emergency_mgmt",
        Transport = "transport",
        UrbanManagement = "urban_management",
        Environment = "environment",
        Utilities = "utilities",
        Telecom = "telecom",
        CommercialService = "commercial_service",
        None = "none",
    }
}

impl Agency {
    pub fn display_name_zh(self) -> &'static str {
        match self {
            Agency::Ambulance => "急救中心",
            Agency::Fire => "消防救援",
            Agency::Hotline12345 => "政务服务便民热线",
            Agency::MarketRegulation => "市场监管",
            Agency::CivilAffairs => "民政",
            Agency::EmergencyMgmt => "应急管理",
            Agency::Transport => "交通运输",
            Agency::UrbanManagement => "城管/住建",
            Agency::Environment => "生态环境",
            Agency::Utilities => "水电气暖",
            Agency::Telecom => "通信运营商",
            Agency::CommercialService => "商业服务",
            Agency::None => "无",
        }
    }

    pub fn display_name_en(self) -> &'static str {
        match self {
            Agency::Ambulance => "Emergency medical (120)",
            Agency::Fire => "Fire and rescue (119)",
            Agency::Hotline12345 => "Government hotline (12345)",
            Agency::MarketRegulation => "Market regulation",
            Agency::CivilAffairs => "Civil affairs",
            Agency::EmergencyMgmt => "Emergency management",
            Agency::Transport => "Transport",
            Agency::UrbanManagement => "Urban management",
            Agency::Environment => "Environment",
            Agency::Utilities => "Utilities",
            Agency::Telecom => "Telecom operator",
            Agency::CommercialService => "Commercial service",
            Agency::None => "None",
        }
    }
}

string_enum! {
    /// P1 is the most urgent; the derived order sorts P1 first.
    pub enum Priority { P1 = "P1", P2 = "P2", P3 = "P3", P4 = "P4" }
}

string_enum! {
    /// Incident lifecycle; see [`crate::model::Incident`] for the transitions.
    pub enum Status {
        New = "new",
        InProgress = "in_progress",
        Dispatched = "dispatched",
        OnScene = "on_scene",
        Resolved = "resolved",
        Referred = "referred",
        Closed = "closed",
    }
}

impl Status {
    /// Waiting in the intake queue: not yet dispatched, referred or closed.
    pub fn is_queued(self) -> bool {
        matches!(self, Status::New | Status::InProgress)
    }
    /// No further transition is possible.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Resolved | Status::Referred | Status::Closed)
    }
}

string_enum! {
    /// Why an incident was closed without dispatch or referral.
    pub enum CloseReason { Invalid = "invalid", Duplicate = "duplicate", Advice = "advice" }
}

string_enum! {
    pub enum Role {
        CallTaker = "call_taker",
        ShiftLead = "shift_lead",
        Admin = "admin",
        /// A channel gateway: may only post intakes.
        Gateway = "gateway",
        /// A linked agency: may only work its own referrals.
        Agency = "agency",
    }
}

impl Role {
    /// Operators who work incidents (take calls, dispatch, refer).
    pub const STAFF: &'static [Role] = &[Role::CallTaker, Role::ShiftLead, Role::Admin];
    /// Shift leads and admins.
    pub const LEADS: &'static [Role] = &[Role::ShiftLead, Role::Admin];
}

string_enum! {
    /// Where a call's coordinates came from. Only a `place` position is
    /// replaced when the location text changes; the caller's share and the
    /// operator's click stand until someone sets new ones.
    pub enum LocationSource { Caller = "caller", Map = "map", Place = "place" }
}

string_enum! {
    pub enum UnitKind { Station = "station", Patrol = "patrol", Traffic = "traffic" }
}

string_enum! {
    /// A dispatched unit is `assigned` until it signs for the order (签收)
    /// and sets off (`en_route`).
    pub enum UnitStatus {
        Available = "available",
        Assigned = "assigned",
        EnRoute = "en_route",
        OnScene = "on_scene",
        OffDuty = "off_duty",
    }
}

string_enum! {
    /// A referral work order's state, moved forward by the agency. A
    /// returned order waits for the shift lead, who sends it again
    /// (`sent`) or withdraws it (re-routed to another agency or taken back
    /// as police business).
    pub enum ReferralStatus {
        Sent = "sent",
        Accepted = "accepted",
        Feedback = "feedback",
        Closed = "closed",
        Returned = "returned",
        Withdrawn = "withdrawn",
    }
}

impl ReferralStatus {
    /// Until the agency has accepted, the first receiver (110) still
    /// answers for the matter (国办发〔2022〕12号).
    pub fn still_ours(self) -> bool {
        matches!(self, ReferralStatus::Sent | ReferralStatus::Returned)
    }
    /// Nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, ReferralStatus::Closed | ReferralStatus::Withdrawn)
    }
}

string_enum! {
    /// How a follow-up (回访) reaches the caller.
    pub enum FollowupChannel { Phone = "phone", Sms = "sms" }
}

string_enum! {
    pub enum FollowupStatus { Open = "open", Done = "done" }
}

string_enum! {
    /// What a follow-up found.
    pub enum Satisfaction { Satisfied = "satisfied", Dissatisfied = "dissatisfied", Unreachable = "unreachable" }
}

string_enum! {
    /// The automatic checks of a call's quality (质检), from its record.
    pub enum QaCheck {
        /// A place was recorded before the unit went.
        LocationRecorded = "location_recorded",
        /// A P1 call had a unit within the dispatch limit (60 s, NFPA 1225).
        P1DispatchedInTime = "p1_dispatched_in_time",
        /// A caller who hung up or stayed silent was called back in time.
        CallbackInTime = "callback_in_time",
        /// The agency accepted the referral by its deadline.
        ReferralAcceptedInTime = "referral_accepted_in_time",
        /// A dispatched call went out on a category the operator set (on the
        /// form or in the intake), not one the service filled in from the
        /// suggestion.
        CategoryChosen = "category_chosen",
        /// A call closed as invalid whose caller carried a nuisance warning:
        /// the operator marked the warning read before closing.
        WarningRead = "warning_read",
    }
}

string_enum! {
    pub enum RectificationStatus { Open = "open", Closed = "closed" }
}

string_enum! {
    /// Why an agency hands a referral back.
    pub enum ReturnReason { NotOurs = "not_ours", PoliceFirst = "police_first" }
}

string_enum! {
    /// Caller flags a shift lead can set on a phone number.
    pub enum CallerFlagKind { Nuisance = "nuisance", Abusive = "abusive", FalseReport = "false_report" }
}

string_enum! {
    /// Why a call ended before the caller stated the matter.
    pub enum Disconnect { Hangup = "hangup", Silent = "silent" }
}

string_enum! {
    pub enum CallbackStatus { Open = "open", Closed = "closed" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_schema_of_a_code_is_its_wire_values() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(Agency::schema()).expect("schema");
        let values: Vec<&str> = schema["enum"]
            .as_array()
            .expect("enum")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let wire: Vec<&str> = Agency::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(values, wire);
        assert_eq!(serde_json::to_value(Agency::Ambulance).expect("json"), "120");
    }
}
