//! The demo gazetteer: cities, districts, police stations with the landmarks
//! and streets of their jurisdiction, and the units that serve them. It
//! resolves a caller's free-text location to a jurisdiction.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Category, Incident, Unit, UnitKind, UnitStatus};

/// The gazetteer shipped in `assets/`, compiled into the binary.
pub const BUILTIN_JSON: &str = include_str!("../../assets/gazetteer.json");

#[derive(Debug, Clone, Deserialize)]
pub struct Gazetteer {
    pub cities: Vec<City>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct City {
    pub name: String,
    pub code: String,
    pub districts: Vec<District>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct District {
    pub name: String,
    pub code: String,
    pub stations: Vec<Station>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Station {
    pub code: String,
    pub name: String,
    pub landmarks: Vec<String>,
    pub streets: Vec<String>,
    /// How many patrol cars the station runs.
    pub patrols: u32,
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

    fn stations(&self) -> impl Iterator<Item = (&City, &District, &Station)> {
        self.cities
            .iter()
            .flat_map(|c| c.districts.iter().map(move |d| (c, d)))
            .flat_map(|(c, d)| d.stations.iter().map(move |s| (c, d, s)))
    }

    /// Resolves free text to a station's jurisdiction by the longest place
    /// name (landmark, street or station) it contains; a bare district name
    /// falls back to that district's first station.
    pub fn resolve(&self, text: &str) -> Option<Jurisdiction> {
        let mut best: Option<(usize, Jurisdiction)> = None;
        let consider = |best: &mut Option<(usize, Jurisdiction)>, name: &str, c: &City, d: &District, s: &Station| {
            let len = name.chars().count();
            if len > 0 && text.contains(name) && best.as_ref().is_none_or(|(l, _)| len > *l) {
                let j = Jurisdiction {
                    code: s.code.clone(),
                    station: s.name.clone(),
                    district: d.name.clone(),
                    city: c.name.clone(),
                    matched: name.to_owned(),
                };
                *best = Some((len, j));
            }
        };
        for (c, d, s) in self.stations() {
            let station_area = s.name.trim_end_matches("派出所");
            for name in s
                .landmarks
                .iter()
                .chain(&s.streets)
                .map(String::as_str)
                .chain([station_area])
            {
                consider(&mut best, name, c, d, s);
            }
        }
        if best.is_none() {
            for c in &self.cities {
                for d in &c.districts {
                    if let Some(s) = d.stations.first() {
                        consider(&mut best, &d.name, c, d, s);
                    }
                }
            }
        }
        best.map(|(_, j)| j)
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
                    });
                    let area = s.name.trim_end_matches("派出所");
                    for n in 1..=s.patrols {
                        out.push(UnitSeed {
                            code: format!("{}-P{n}", s.code),
                            name: format!("{area}巡逻{n}号车"),
                            kind: UnitKind::Patrol,
                            jurisdiction: s.code.clone(),
                        });
                    }
                }
                out.push(UnitSeed {
                    code: format!("{}-TR", d.code),
                    name: format!("{}交警中队", d.name),
                    kind: UnitKind::Traffic,
                    jurisdiction: d.code.clone(),
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

/// The units to offer for `incident` in `jurisdiction`, best first:
/// available ones covering it, by how well their kind fits the call
/// ([`kind_rank`]), then by code so the order is stable.
pub fn recommend(units: Vec<Unit>, jurisdiction: &str, incident: &Incident) -> Vec<Unit> {
    let category = incident.effective_category();
    let traffic = on_the_road(&incident.narrative);
    let mut offered: Vec<Unit> = units
        .into_iter()
        .filter(|u| u.status == UnitStatus::Available && covers(&u.jurisdiction, jurisdiction))
        .collect();
    offered.sort_by_key(|u| (kind_rank(u.kind, category, traffic), u.code.clone()));
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
