//! The demo gazetteer: cities, districts, police stations with the landmarks
//! and streets of their jurisdiction, and the units that serve them. It
//! resolves a caller's free-text location to a jurisdiction.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::geo::GeoPoint;
use super::{Category, Incident, Unit, UnitKind, UnitStatus};

/// The gazetteer shipped in `assets/`, compiled into the binary.
pub const BUILTIN_JSON: &str = include_str!("../../assets/gazetteer.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Gazetteer {
    pub cities: Vec<City>,
    /// Every name the resolver looks for, built on first use.
    #[serde(skip)]
    index: std::sync::OnceLock<super::address::NameIndex>,
}

/// A prefecture-level division (地级市 or 自治州) and its districts.
#[derive(Debug, Clone, Deserialize)]
pub struct City {
    pub name: String,
    pub code: String,
    /// GB/T 2260 code, the key into [`super::geo::GeoData`].
    #[serde(default)]
    pub adcode: Option<String>,
    pub districts: Vec<District>,
}

/// A county-level division (区, 县级市, 县, 自治县) and its stations.
#[derive(Debug, Clone, Deserialize)]
pub struct District {
    pub name: String,
    pub code: String,
    #[serde(default)]
    pub adcode: Option<String>,
    /// Short forms callers use ("前郭" for 前郭尔罗斯蒙古族自治县).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub stations: Vec<Station>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Station {
    pub code: String,
    pub name: String,
    /// True when the name stands in for a station whose real name we do not
    /// have: the area is right, the name is made up.
    #[serde(default)]
    pub illustrative: bool,
    /// Where the station is; its patrol cars start here.
    #[serde(default, deserialize_with = "lon_lat")]
    pub at: Option<GeoPoint>,
    pub landmarks: Vec<NamedPoint>,
    pub streets: Vec<NamedPoint>,
    /// How many patrol cars the station runs.
    pub patrols: u32,
}

/// A landmark or street of a station's area: a bare name, or a name with a
/// position and the other names callers give it.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "RawPlace")]
pub struct NamedPoint {
    pub name: String,
    pub at: Option<GeoPoint>,
    pub aliases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPlace {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        at: Option<[f64; 2]>,
        #[serde(default)]
        aliases: Vec<String>,
    },
}

impl From<RawPlace> for NamedPoint {
    fn from(r: RawPlace) -> Self {
        match r {
            RawPlace::Name(name) => NamedPoint {
                name,
                at: None,
                aliases: Vec::new(),
            },
            RawPlace::Full { name, at, aliases } => NamedPoint {
                name,
                at: at.map(GeoPoint::from_lon_lat),
                aliases,
            },
        }
    }
}

fn lon_lat<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<GeoPoint>, D::Error> {
    Ok(Option::<[f64; 2]>::deserialize(d)?.map(GeoPoint::from_lon_lat))
}

/// A resolved jurisdiction: the 派出所 area a location falls in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Jurisdiction {
    pub code: String,
    pub station: String,
    pub district: String,
    pub city: String,
    /// The place name in the text that decided it.
    pub matched: String,
}

/// A unit to create on first start.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitSeed {
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub jurisdiction: String,
    /// Where the unit starts: its station (a district's traffic squad at
    /// the district's first station).
    pub at: Option<GeoPoint>,
}

impl Gazetteer {
    pub fn builtin() -> Self {
        #[expect(clippy::expect_used, reason = "the bundled asset is checked by a unit test")]
        serde_json::from_str(BUILTIN_JSON).expect("assets/gazetteer.json is valid")
    }

    /// The bundled gazetteer, parsed once.
    pub fn shared() -> &'static Gazetteer {
        static SHARED: std::sync::OnceLock<Gazetteer> = std::sync::OnceLock::new();
        SHARED.get_or_init(Gazetteer::builtin)
    }

    /// "朝阳区 红旗街派出所" for a jurisdiction code: what an operator reads.
    pub fn station_name(&self, code: &str) -> Option<String> {
        self.stations()
            .find(|(_, _, s)| s.code == code)
            .map(|(_, d, s)| format!("{} {}", d.name, s.name))
    }

    /// Every station with its district and city.
    pub fn stations(&self) -> impl Iterator<Item = (&City, &District, &Station)> {
        self.cities
            .iter()
            .flat_map(|c| c.districts.iter().map(move |d| (c, d)))
            .flat_map(|(c, d)| d.stations.iter().map(move |s| (c, d, s)))
    }

    /// The station area free text names, if any: see [`Gazetteer::locate`].
    pub fn resolve(&self, text: &str) -> Option<Jurisdiction> {
        self.locate(text, None).and_then(|p| p.jurisdiction)
    }

    pub(super) fn index(&self) -> &super::address::NameIndex {
        self.index.get_or_init(|| super::address::NameIndex::build(self))
    }

    /// Every unit of the gazetteer: each station, its patrol cars, and one
    /// traffic-police squad per district (serving the whole district).
    pub fn unit_seeds(&self) -> Vec<UnitSeed> {
        let mut out = Vec::new();
        for c in &self.cities {
            for d in &c.districts {
                for s in &d.stations {
                    out.push(UnitSeed {
                        code: s.code.clone(),
                        name: s.name.clone(),
                        kind: UnitKind::Station,
                        jurisdiction: s.code.clone(),
                        at: s.at,
                    });
                    let area = s.name.trim_end_matches("派出所");
                    for n in 1..=s.patrols {
                        out.push(UnitSeed {
                            code: format!("{}-P{n}", s.code),
                            name: format!("{area}巡逻{n}号车"),
                            kind: UnitKind::Patrol,
                            jurisdiction: s.code.clone(),
                            at: s.at,
                        });
                    }
                }
                out.push(UnitSeed {
                    code: format!("{}-TR", d.code),
                    name: format!("{}交警中队", d.name),
                    kind: UnitKind::Traffic,
                    jurisdiction: d.code.clone(),
                    at: d.stations.first().and_then(|s| s.at),
                });
            }
        }
        out
    }
}

/// Whether a unit serving `unit_jurisdiction` covers `incident_jurisdiction`:
/// a station's own area, or a district unit for every station in it.
pub fn covers(unit_jurisdiction: &str, incident_jurisdiction: &str) -> bool {
    incident_jurisdiction == unit_jurisdiction
        || incident_jurisdiction
            .strip_prefix(unit_jurisdiction)
            .is_some_and(|rest| rest.starts_with('-'))
}

/// Words that put a call on the road, where traffic police fit best.
const ROAD_WORDS: [&str; 8] = ["车祸", "追尾", "撞车", "相撞", "撞了", "交通事故", "剐蹭", "翻车"];

/// Whether the narrative speaks of a road accident.
fn on_the_road(narrative: &str) -> bool {
    ROAD_WORDS.iter().any(|w| narrative.contains(w))
}

/// A unit offered for a call, with how far it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Offer {
    #[serde(flatten)]
    pub unit: Unit,
    /// Straight-line metres from the call; `None` when either position is unknown.
    pub distance_m: Option<f64>,
    /// Whether the unit's jurisdiction covers the call's.
    pub covers: bool,
}

/// How far a unit outside the call's jurisdiction may be and still be
/// offered: a patrol across a county line is often the nearest.
pub const NEAR_M: f64 = 30_000.0;

/// The units to offer for `incident`, best first. Available units covering
/// `jurisdiction` or within [`NEAR_M`] of `at` are offered. With a position,
/// they are ordered by fit (traffic police first for a road accident, last
/// otherwise), then distance (to 100 m), then coverage, then kind
/// ([`kind_rank`]); without one, by coverage and kind as before.
pub fn recommend(
    units: Vec<Unit>,
    jurisdiction: Option<&str>,
    at: Option<GeoPoint>,
    incident: &Incident,
) -> Vec<Offer> {
    let category = incident.effective_category();
    let traffic = on_the_road(&incident.narrative);
    let mut offered: Vec<Offer> = units
        .into_iter()
        .filter(|u| u.status == UnitStatus::Available)
        .filter_map(|unit| {
            let covers = jurisdiction.is_some_and(|j| covers(&unit.jurisdiction, j));
            let distance_m = at.zip(unit.at).map(|(a, b)| a.distance_m(b));
            (covers || distance_m.is_some_and(|d| d <= NEAR_M)).then_some(Offer {
                unit,
                distance_m,
                covers,
            })
        })
        .collect();
    offered.sort_by_key(|o| {
        let kind = kind_rank(o.unit.kind, category, traffic);
        let fit = match (o.unit.kind, traffic) {
            (UnitKind::Traffic, true) => 0,
            (UnitKind::Traffic, false) => 2,
            _ => 1,
        };
        let hundreds = o.distance_m.map_or(u64::MAX, |d| (d / 100.0).round() as u64);
        (fit, hundreds, !o.covers, kind, o.unit.code.clone())
    });
    offered
}

/// How well a unit kind fits a category (lower is better): traffic police for
/// accidents on the road, patrol cars for anything in progress, the station
/// for matters that can wait.
pub fn kind_rank(kind: UnitKind, category: Option<Category>, traffic: bool) -> u8 {
    match (kind, traffic) {
        (UnitKind::Traffic, true) => 0,
        (UnitKind::Patrol, _) => 1,
        (UnitKind::Station, _) if matches!(category, Some(Category::PublicOrder) | None) => 2,
        (UnitKind::Station, _) => 3,
        (UnitKind::Traffic, false) => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_station_is_named_by_its_code() {
        let g = Gazetteer::shared();
        assert_eq!(g.station_name("CC-CY-HQ").as_deref(), Some("朝阳区 红旗街派出所"));
        assert_eq!(g.station_name("XX"), None);
    }

    #[test]
    fn builtin_parses_and_resolves() {
        let g = Gazetteer::builtin();
        let j = g.resolve("红旗街万达广场门口有人打架").expect("resolves");
        assert_eq!(j.code, "CC-CY-HQ");
        assert_eq!(j.matched, "红旗街万达广场");
        assert_eq!(g.resolve("长春站北口").map(|j| j.code), Some("CC-KC-CZ".into()));
        assert_eq!(g.resolve("朝阳区某小区").map(|j| j.code), Some("CC-CY-HQ".into()));
        assert_eq!(g.resolve("不知道在哪"), None);
        assert!(g.unit_seeds().len() > 20);
    }

    #[test]
    fn coverage_is_hierarchical() {
        assert!(covers("CC-CY", "CC-CY-HQ"));
        assert!(covers("CC-CY-HQ", "CC-CY-HQ"));
        assert!(!covers("CC-CY", "CC-CYX-HQ"));
        assert!(!covers("CC-CY-GL", "CC-CY-HQ"));
    }
}
