//! Reading a place out of what a caller said: "吉林省延边州延吉市光明街123号",
//! "敦化那个火车站附近", "[位置] 白山市浑江区…", or a shared position. The
//! result names the county-level division, the station area when known, a
//! point, the words that decided it and how sure the reading is.
//!
//! Owns: the name index over the gazetteer and the rules that weigh place
//! names against each other. Must not touch: I/O, units, drawing.

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::gazetteer::{Gazetteer, Jurisdiction};
use super::geo::{GeoData, GeoPoint};

/// What decided a location, from the surest to the vaguest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceMatch {
    /// A position the caller's phone shared, or the operator's click on the map.
    Coordinates,
    Landmark,
    Street,
    /// The name of a station's area ("红旗街" for 红旗街派出所).
    StationArea,
    /// Only the county-level division is named.
    County,
    /// Only the prefecture is named: no station, no units to offer.
    Prefecture,
}

impl PlaceMatch {
    pub const ALL: [PlaceMatch; 6] = [
        PlaceMatch::Coordinates,
        PlaceMatch::Landmark,
        PlaceMatch::Street,
        PlaceMatch::StationArea,
        PlaceMatch::County,
        PlaceMatch::Prefecture,
    ];

    /// The code on the wire, which the console words.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceMatch::Coordinates => "coordinates",
            PlaceMatch::Landmark => "landmark",
            PlaceMatch::Street => "street",
            PlaceMatch::StationArea => "station_area",
            PlaceMatch::County => "county",
            PlaceMatch::Prefecture => "prefecture",
        }
    }
}

/// A division by code and name, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DivisionRef {
    /// GB/T 2260 code.
    pub code: String,
    pub name: String,
}

/// Where a call is, as far as its text (or position) tells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolvedPlace {
    pub how: PlaceMatch,
    /// The words of the text that decided it ("延吉西站"), or "lat,lon".
    pub matched: String,
    /// Character (not byte) span of `matched` in the text read.
    pub span: Option<(usize, usize)>,
    pub county: Option<DivisionRef>,
    pub prefecture: Option<DivisionRef>,
    /// The place's position; a division's centre when only that is known.
    pub at: Option<GeoPoint>,
    /// 0–1: a landmark inside a named county is near 1, a bare prefecture
    /// name is about 0.3. Below 0.5 the console asks the operator to confirm.
    pub confidence: f64,
    /// The station area, when the reading is precise enough for one.
    pub jurisdiction: Option<Jurisdiction>,
}

/// Where a name points.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Place {
        city: usize,
        district: usize,
        station: usize,
        how: PlaceMatch,
        at: Option<GeoPoint>,
    },
    County {
        city: usize,
        district: usize,
        /// A short form ("延吉", "前郭"): trusted less, and never when it is
        /// only the start of a street name ("四平路" in 长春).
        short: bool,
    },
    Prefecture {
        city: usize,
        short: bool,
    },
    /// The province itself ("吉林省"): a Jilin marker with no place.
    Province,
    /// A word that contains a division's name but is not that division
    /// ("吉林大学", "长白山"): it hides the names inside it.
    Shadow,
    /// Another province or a city outside Jilin: the call is not ours to
    /// place ("北京朝阳区" is not 长春's 朝阳区).
    Outside,
}

/// Every name the resolver looks for, with the places it may mean.
#[derive(Debug, Clone)]
pub struct NameIndex {
    ac: AhoCorasick,
    names: Vec<(String, Vec<Target>)>,
}

const PROVINCE: [&str; 2] = ["吉林省", "吉林"];
/// Words that contain a division's name without meaning it.
const SHADOWS: [&str; 8] = [
    "吉林大学",
    "吉林大路",
    "吉林大街",
    "吉林路",
    "长白山",
    "长白山脉",
    "吉林省",
    "通化路",
];
/// Provinces and cities outside Jilin that callers name with an address.
const OUTSIDE: [&str; 62] = [
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南省",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "台湾",
    "沈阳",
    "大连",
    "哈尔滨",
    "鞍山",
    "抚顺",
    "丹东",
    "铁岭",
    "通辽",
    "齐齐哈尔",
    "牡丹江",
    "深圳",
    "杭州",
    "南京",
    "武汉",
    "广州",
    "成都",
    "苏州",
    "青岛",
    "济南",
    "郑州",
    "长沙",
    "石家庄",
    "太原",
    "呼和浩特",
    "昆明",
    "福州",
    "厦门",
    "合肥",
    "自贡",
];
/// Words before a place name that deny it.
const DENIALS: [&str; 4] = ["不是", "不在", "并非", "不是那个"];
/// Suffixes of a division's full name; after a short name they mean a
/// division of that name elsewhere.
const ADMIN_SUFFIXES: [&str; 5] = ["区", "县", "市", "州", "省"];
/// What follows a name that is really the start of a street or a school's
/// ("四平路", "延吉街", "辽宁大学"), not the place itself.
const STREET_SUFFIXES: [&str; 12] = [
    "路", "街", "道", "巷", "胡同", "大街", "大路", "大学", "西路", "东路", "南路", "北路",
];

impl NameIndex {
    pub(super) fn build(g: &Gazetteer) -> NameIndex {
        let mut names: Vec<(String, Vec<Target>)> = Vec::new();
        let prefecture_shorts: Vec<&str> = g.cities.iter().map(|c| prefecture_short_name(&c.name)).collect();
        let mut add = |name: &str, t: Target| {
            let name = name.trim();
            // One character names too much.
            if name.chars().count() < 2 {
                return;
            }
            match names.iter_mut().find(|(n, _)| n == name) {
                Some((_, ts)) => {
                    if !ts.contains(&t) {
                        ts.push(t);
                    }
                }
                None => names.push((name.to_owned(), vec![t])),
            }
        };
        for (ci, c) in g.cities.iter().enumerate() {
            add(&c.name, Target::Prefecture { city: ci, short: false });
            let short = prefecture_short_name(&c.name);
            if short != c.name && short != "吉林" {
                add(short, Target::Prefecture { city: ci, short: true });
            }
            for (di, d) in c.districts.iter().enumerate() {
                add(
                    &d.name,
                    Target::County {
                        city: ci,
                        district: di,
                        short: false,
                    },
                );
                for a in &d.aliases {
                    add(
                        a,
                        Target::County {
                            city: ci,
                            district: di,
                            short: true,
                        },
                    );
                }
                // A county-level city or county is said without its suffix
                // ("梅河口", "农安"); a city district is not ("朝阳" alone is
                // a common word), so only 市 and 县 are dropped.
                // "通化" is the prefecture, not 通化县.
                if let Some(s) = d.name.strip_suffix('市').or_else(|| d.name.strip_suffix('县'))
                    && s.chars().count() >= 2
                    && !prefecture_shorts.contains(&s)
                {
                    add(
                        s,
                        Target::County {
                            city: ci,
                            district: di,
                            short: true,
                        },
                    );
                }
                for (si, s) in d.stations.iter().enumerate() {
                    let place = |how, at| Target::Place {
                        city: ci,
                        district: di,
                        station: si,
                        how,
                        at,
                    };
                    for l in &s.landmarks {
                        for n in std::iter::once(&l.name).chain(&l.aliases) {
                            add(n, place(PlaceMatch::Landmark, l.at.or(s.at)));
                        }
                    }
                    for l in &s.streets {
                        for n in std::iter::once(&l.name).chain(&l.aliases) {
                            add(n, place(PlaceMatch::Street, l.at.or(s.at)));
                        }
                    }
                    let area = s.name.trim_end_matches("派出所");
                    if area != s.name {
                        add(area, place(PlaceMatch::StationArea, s.at));
                    }
                }
            }
        }
        for p in PROVINCE.iter().take(1) {
            add(p, Target::Province);
        }
        for s in SHADOWS {
            add(s, Target::Shadow);
        }
        for o in OUTSIDE {
            add(o, Target::Outside);
        }
        #[expect(clippy::expect_used, reason = "a few thousand literal names always build")]
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(names.iter().map(|(n, _)| n))
            .expect("the name automaton builds");
        NameIndex { ac, names }
    }

    /// Every name in the text, with its character span; names lying inside
    /// a longer name found are dropped ("吉林" inside "吉林大学").
    fn find(&self, text: &str) -> Vec<Found> {
        let mut found: Vec<Found> = self
            .ac
            .find_overlapping_iter(text)
            .map(|m| {
                let start = text[..m.start()].chars().count();
                let (name, targets) = &self.names[m.pattern().as_usize()];
                let len = name.chars().count();
                let rest = &text[m.end()..];
                let before = &text[..m.start()];
                Found {
                    span: (start, start + len),
                    name: name.clone(),
                    targets: targets.clone(),
                    before_street: STREET_SUFFIXES.iter().any(|s| rest.starts_with(s)),
                    before_suffix: ADMIN_SUFFIXES.iter().any(|s| rest.starts_with(s)),
                    denied: DENIALS.iter().any(|d| before.ends_with(d)),
                }
            })
            .collect();
        let spans: Vec<(usize, usize)> = found.iter().map(|f| f.span).collect();
        found.retain(|f| !spans.iter().any(|o| *o != f.span && o.0 <= f.span.0 && f.span.1 <= o.1));
        found
    }

    /// Names starting with `prefix`, shortest first, for autocomplete.
    fn starting_with(&self, prefix: &str) -> impl Iterator<Item = &(String, Vec<Target>)> {
        self.names
            .iter()
            .filter(move |(n, _)| n.starts_with(prefix) && n != prefix)
    }
}

#[derive(Debug, Clone)]
struct Found {
    span: (usize, usize),
    name: String,
    targets: Vec<Target>,
    before_street: bool,
    /// "大安区" is not 大安市: a short name followed by another suffix
    /// names some other division.
    before_suffix: bool,
    /// "不是榆树市": the caller says where they are not.
    denied: bool,
}

impl Found {
    /// Whether a short name here is really part of another name.
    fn short_is_other(&self) -> bool {
        self.before_street || self.before_suffix
    }
}

/// "长春" for 长春市, "延边" for 延边朝鲜族自治州.
fn prefecture_short_name(name: &str) -> &str {
    if let Some(i) = name.find("朝鲜族自治州") {
        return &name[..i];
    }
    name.strip_suffix('市')
        .filter(|s| s.chars().count() >= 2)
        .unwrap_or(name)
}

/// The district's station nearest `p`; one without a position counts as
/// furthest, and the first wins a tie.
fn nearest_station(d: &super::gazetteer::District, p: GeoPoint) -> Option<usize> {
    (0..d.stations.len()).min_by(|a, b| {
        let dist = |i: usize| d.stations[i].at.map_or(f64::MAX, |at| at.distance_m(p));
        dist(*a).total_cmp(&dist(*b))
    })
}

/// One suggestion while the operator types a location.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceSuggestion {
    /// The name to put in the field.
    pub name: String,
    /// What the name is, for the list: "延吉市 · 延吉西站".
    pub context: String,
    /// How many characters at the end of the typed text the name replaces.
    pub replaces: usize,
}

impl Gazetteer {
    /// Where `text` is, or where `point` is when the caller shared one.
    /// `None` when neither names a place in the province.
    pub fn locate(&self, text: &str, point: Option<GeoPoint>) -> Option<ResolvedPlace> {
        if let Some(p) = point.filter(|p| p.is_valid())
            && let Some(place) = self.at_point(p)
        {
            return Some(place);
        }
        self.read(text)
    }

    fn read(&self, text: &str) -> Option<ResolvedPlace> {
        let found = self.index().find(text);
        let mut places = Vec::new();
        let mut counties = Vec::new();
        let mut prefectures = Vec::new();
        let mut jilin = false;
        let mut outside = false;
        for f in found.iter().filter(|f| !f.denied) {
            for t in &f.targets {
                match *t {
                    Target::Place { .. } => places.push((f, *t)),
                    Target::County { city, district, short } if !(short && f.short_is_other()) => {
                        counties.push((f, city, district, short));
                        // "四平铁西" names the prefecture too.
                        jilin |= f.name.contains(prefecture_short_name(&self.cities[city].name));
                    }
                    Target::Prefecture { city, short } if !(short && f.before_street) => {
                        prefectures.push((f, city, short));
                        jilin = true;
                    }
                    Target::Province => jilin = true,
                    Target::Outside if !f.before_street => outside = true,
                    _ => {}
                }
            }
        }
        // "北京朝阳区" is not 长春's 朝阳区: another province or city named
        // wins unless the text names a Jilin prefecture or the province.
        if outside && !jilin {
            return None;
        }
        let named_counties: Vec<(usize, usize)> = counties.iter().map(|c| (c.1, c.2)).collect();
        let named_cities: Vec<usize> = prefectures.iter().map(|p| p.1).collect();
        let fits = |city: usize, district: usize| {
            if named_counties.is_empty() {
                named_cities.is_empty() || named_cities.contains(&city)
            } else {
                named_counties.contains(&(city, district))
            }
        };
        // The longest fitting landmark, street or station area; a landmark
        // beats a street of the same length.
        let best = places
            .iter()
            .filter_map(|(f, t)| match *t {
                Target::Place {
                    city,
                    district,
                    station,
                    how,
                    at,
                } if fits(city, district) => Some((*f, city, district, station, how, at)),
                _ => None,
            })
            .max_by_key(|(f, _, _, _, how, _)| {
                (
                    f.name.chars().count(),
                    *how == PlaceMatch::Landmark,
                    usize::MAX - f.span.0,
                )
            });
        if let Some((f, city, district, station, how, at)) = best {
            // The same name in several fitting areas ("光明街" in two towns)
            // with nothing to tell them apart.
            let ambiguous = f
                .targets
                .iter()
                .filter(|t| matches!(t, Target::Place { city, district, .. } if fits(*city, *district)))
                .count()
                > 1;
            let named = !named_counties.is_empty() || !named_cities.is_empty();
            let confidence = match (how, named, ambiguous) {
                (_, _, true) => 0.45,
                (PlaceMatch::Landmark, true, _) => 0.95,
                (PlaceMatch::Landmark, false, _) => 0.85,
                (_, true, _) => 0.9,
                (_, false, _) => 0.75,
            };
            return Some(self.place(how, f, city, district, Some(station), at, confidence));
        }
        // No place fits: the most specific division named. A county that
        // agrees with a named prefecture wins over one that does not.
        if let Some((f, city, district, short)) = counties.iter().copied().max_by_key(|(f, city, _, short)| {
            (
                named_cities.is_empty() || named_cities.contains(city),
                !short,
                f.name.chars().count(),
            )
        }) {
            let station = self.station_near_centre(city, district);
            let confidence = if short { 0.6 } else { 0.7 };
            return Some(self.place(PlaceMatch::County, f, city, district, station, None, confidence));
        }
        let (f, city, _) = prefectures
            .iter()
            .copied()
            .max_by_key(|(f, _, short)| (!short, f.name.chars().count()))?;
        let c = &self.cities[city];
        let prefecture = c.adcode.as_deref().and_then(|code| GeoData::shared().division(code));
        Some(ResolvedPlace {
            how: PlaceMatch::Prefecture,
            matched: f.name.clone(),
            span: Some(f.span),
            county: None,
            prefecture: prefecture.map(|d| DivisionRef {
                code: d.code.clone(),
                name: d.name.clone(),
            }),
            at: prefecture.map(|d| d.centre),
            confidence: 0.3,
            jurisdiction: None,
        })
    }

    #[expect(clippy::too_many_arguments, reason = "one place's parts, assembled once")]
    fn place(
        &self,
        how: PlaceMatch,
        f: &Found,
        city: usize,
        district: usize,
        station: Option<usize>,
        at: Option<GeoPoint>,
        confidence: f64,
    ) -> ResolvedPlace {
        let (county, prefecture) = self.divisions_of(city, district);
        let d = &self.cities[city].districts[district];
        let at = at
            .or_else(|| {
                station
                    .and_then(|s| d.stations[s].at)
                    .filter(|_| how != PlaceMatch::County)
            })
            .or_else(|| {
                d.adcode
                    .as_deref()
                    .and_then(|c| GeoData::shared().division(c))
                    .map(|d| d.centre)
            });
        ResolvedPlace {
            how,
            matched: f.name.clone(),
            span: Some(f.span),
            county,
            prefecture,
            at,
            confidence,
            jurisdiction: station.map(|s| self.jurisdiction(city, district, s, &f.name)),
        }
    }

    fn divisions_of(&self, city: usize, district: usize) -> (Option<DivisionRef>, Option<DivisionRef>) {
        let c = &self.cities[city];
        let d = &c.districts[district];
        let county = DivisionRef {
            code: d.adcode.clone().unwrap_or_else(|| d.code.clone()),
            name: d.name.clone(),
        };
        let prefecture = DivisionRef {
            code: c.adcode.clone().unwrap_or_else(|| c.code.clone()),
            name: c.name.clone(),
        };
        (Some(county), Some(prefecture))
    }

    fn jurisdiction(&self, city: usize, district: usize, station: usize, matched: &str) -> Jurisdiction {
        let c = &self.cities[city];
        let d = &c.districts[district];
        let s = &d.stations[station];
        Jurisdiction {
            code: s.code.clone(),
            station: s.name.clone(),
            district: d.name.clone(),
            city: c.name.clone(),
            matched: matched.to_owned(),
        }
    }

    /// The district's station nearest its centre: who covers a call placed
    /// only by its county.
    fn station_near_centre(&self, city: usize, district: usize) -> Option<usize> {
        let d = &self.cities[city].districts[district];
        match d.adcode.as_deref().and_then(|c| GeoData::shared().division(c)) {
            Some(county) => nearest_station(d, county.centre),
            None => (!d.stations.is_empty()).then_some(0),
        }
    }

    /// A shared position: its county by outline, the county's nearest station.
    fn at_point(&self, p: GeoPoint) -> Option<ResolvedPlace> {
        let county = GeoData::shared().county_at(p)?;
        let (ci, di) = self.cities.iter().enumerate().find_map(|(ci, c)| {
            c.districts
                .iter()
                .position(|d| d.adcode.as_deref() == Some(county.code.as_str()))
                .map(|di| (ci, di))
        })?;
        let d = &self.cities[ci].districts[di];
        let station = nearest_station(d, p);
        let matched = format!("{:.5},{:.5}", p.lat, p.lon);
        let (county_ref, prefecture) = self.divisions_of(ci, di);
        Some(ResolvedPlace {
            how: PlaceMatch::Coordinates,
            span: None,
            county: county_ref,
            prefecture,
            at: Some(p),
            confidence: 0.95,
            jurisdiction: station.map(|s| self.jurisdiction(ci, di, s, &matched)),
            matched,
        })
    }

    /// Places whose name completes the end of what the operator has typed,
    /// best first: "延吉西" offers 延吉西站. The longest typed ending that
    /// starts a name wins, so "延吉市光明" offers 光明街.
    pub fn suggest(&self, typed: &str, limit: usize) -> Vec<PlaceSuggestion> {
        let typed = typed.trim_end();
        let chars: Vec<(usize, char)> = typed.char_indices().collect();
        for start in 0..chars.len() {
            let tail = &typed[chars[start].0..];
            let n = chars.len() - start;
            if n < 2 {
                break;
            }
            let mut out: Vec<PlaceSuggestion> = self
                .index()
                .starting_with(tail)
                .filter_map(|(name, targets)| {
                    let context = targets.iter().find_map(|t| self.describe(*t))?;
                    Some(PlaceSuggestion {
                        name: name.clone(),
                        context,
                        replaces: n,
                    })
                })
                .collect();
            if !out.is_empty() {
                out.sort_by(|a, b| {
                    a.name
                        .chars()
                        .count()
                        .cmp(&b.name.chars().count())
                        .then(a.name.cmp(&b.name))
                });
                out.truncate(limit);
                return out;
            }
        }
        Vec::new()
    }

    fn describe(&self, t: Target) -> Option<String> {
        match t {
            Target::Place { city, district, .. } | Target::County { city, district, .. } => {
                let c = &self.cities[city];
                Some(format!("{} {}", c.name, c.districts[district].name))
            }
            Target::Prefecture { city, .. } => Some(self.cities[city].name.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g() -> &'static Gazetteer {
        Gazetteer::shared()
    }

    fn county(text: &str) -> Option<String> {
        g().locate(text, None).and_then(|p| p.county).map(|c| c.name)
    }

    #[test]
    fn reads_the_levels_of_an_address() {
        let p = g()
            .locate("吉林省延边朝鲜族自治州延吉市河南街道光明街123号", None)
            .expect("resolves");
        assert_eq!(p.county.map(|c| c.code).as_deref(), Some("222401"));
        assert_eq!(p.prefecture.map(|c| c.code).as_deref(), Some("222400"));
        assert!(p.confidence >= 0.6, "{}", p.confidence);
        assert!(p.jurisdiction.is_some());
        assert!(p.at.is_some());
        assert_eq!(county("梅河口这边").as_deref(), Some("梅河口市"));
    }

    #[test]
    fn a_street_named_after_a_city_is_a_street() {
        // 长春's 四平路 is not in 四平, and 吉林大学 is not 吉林市.
        assert_ne!(county("长春市四平路12号").as_deref(), Some("铁西区"));
        assert_eq!(
            g().locate("吉林大学正门", None)
                .and_then(|p| p.prefecture)
                .map(|p| p.name),
            None
        );
        assert_eq!(county("北京朝阳区建国路"), None, "not Jilin");
    }

    #[test]
    fn landmarks_keep_the_demo_cities_detail() {
        let p = g().locate("红旗街万达广场门口", None).expect("resolves");
        assert_eq!(p.how, PlaceMatch::Landmark);
        assert_eq!(p.jurisdiction.map(|j| j.code).as_deref(), Some("CC-CY-HQ"));
        assert_eq!(p.span, Some((0, 7)));
        assert_eq!(p.matched, "红旗街万达广场");
    }

    #[test]
    fn a_shared_position_decides_the_county() {
        let p = g().locate("", Some(GeoPoint::new(42.89, 129.50))).expect("resolves");
        assert_eq!(p.how, PlaceMatch::Coordinates);
        assert_eq!(p.county.map(|c| c.name).as_deref(), Some("延吉市"));
        assert!(p.jurisdiction.is_some());
        // Outside the province a position decides nothing; the text still can.
        let p = g().locate("延吉市", Some(GeoPoint::new(39.9, 116.4))).expect("text");
        assert_eq!(p.how, PlaceMatch::County);
    }

    #[test]
    fn a_prefecture_alone_has_no_station() {
        let p = g().locate("在延边这边，具体不清楚", None).expect("resolves");
        assert_eq!(p.how, PlaceMatch::Prefecture);
        assert!(p.county.is_none() && p.jurisdiction.is_none());
        assert!(p.confidence < 0.5);
    }

    #[test]
    fn suggestions_complete_what_is_typed() {
        let s = g().suggest("延吉市光明", 5);
        assert!(s.iter().any(|s| s.name.starts_with("光明")), "{s:?}");
        assert!(s.iter().all(|s| s.replaces == 2));
        assert!(g().suggest("", 5).is_empty());
        assert!(g().suggest("完全不存在的地方", 5).is_empty());
    }
}
