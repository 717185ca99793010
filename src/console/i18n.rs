//! The one translation table: every string the console shows, in Simplified
//! Chinese (default) and English.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// `(key, 中文, English)`.
const TABLE: &[(&str, &str, &str)] = &[
    ("app_title", "接警台", "Call-taking console"),
    ("demo", "演示", "DEMO"),
    ("live", "在线", "Live"),
    ("reconnecting", "重连中", "Reconnecting"),
    ("offline", "离线", "Offline"),
    ("pending_writes", "待发送", "pending"),
    ("language", "English", "中文"),
    ("sound_on", "提示音", "Alert sound"),
    ("queue", "警情队列", "Live queue"),
    ("all", "全部", "All"),
    ("channel", "渠道", "Channel"),
    ("status", "状态", "Status"),
    ("category", "类别", "Category"),
    ("agency", "分流单位", "Agency"),
    ("priority", "等级", "Priority"),
    ("wait", "等待", "Wait"),
    ("caller", "报警人", "Caller"),
    ("summary", "内容", "Summary"),
    ("held_by", "处理人", "Held by"),
    ("take", "接警", "Take"),
    ("new_call", "新建警情 (F1)", "New call (F1)"),
    ("answer_next", "接下一个 (F12)", "Answer next (F12)"),
    ("new_calls", "条新警情", "new calls"),
    ("left_queue", "已被处理", "handled"),
    ("queue_empty", "没有待接警情", "No call is waiting"),
    (
        "finish_call_first",
        "请先处理完表单上的警情（Esc 退回队列）",
        "Finish the call on the form first (Esc releases it)",
    ),
    (
        "confirm_invalid",
        "确认将此警情关闭为无效报警？",
        "Close this call as invalid?",
    ),
    ("confirm_link", "确认作为重复警情并入", "Link as a duplicate of"),
    ("confirm_key", "确认 (Enter)", "Confirm (Enter)"),
    ("cancel_key", "取消 (Esc)", "Cancel (Esc)"),
    ("undo", "撤销 (Ctrl+Z)", "Undo (Ctrl+Z)"),
    ("will_close", "即将关闭为无效", "Closing as invalid"),
    ("will_link", "即将并入重复警情", "Linking as a duplicate"),
    ("undone", "已撤销，警情回到表单", "Undone: the call is back on the form"),
    ("handling", "处理用时", "handling"),
    ("wechat_id", "微信号", "WeChat id"),
    ("web_account", "网上报警账号", "Web account"),
    ("co_notify", "同时通知", "Also notify"),
    (
        "outbox_refused",
        "待发送的警情被服务拒收",
        "The service refused a call from the outbox",
    ),
    (
        "outbox_unreadable",
        "待发送箱中有警情本版本无法读取，已另存于 outbox_kept 表，未发送、未删除；请联系技术支持",
        "Calls in the outbox cannot be read by this console version: kept unsent in its outbox_kept table, not deleted; call technical support",
    ),
    (
        "disk_failed",
        "本机文件读写失败",
        "Cannot read or write on this machine",
    ),
    ("sign_out", "退出登录", "Sign out"),
    (
        "sign_out_outbox",
        "还有待发送的警情，服务恢复、发送完成后才能退出",
        "Calls are waiting in the outbox: sign out once they are sent",
    ),
    (
        "sign_out_form",
        "表单上还有未保存的警情，请先保存或处理",
        "A call on the form is not saved yet: save or finish it first",
    ),
    (
        "signed_out",
        "已退出登录，本人持有的警情已退回队列",
        "Signed out; your calls went back to the queue",
    ),
    (
        "first_start",
        "账号由管理员在服务器上创建：jiejing user add --name 姓名 --role call_taker",
        "Accounts are created on the server: jiejing user add --name NAME --role call_taker",
    ),
    ("supplement", "补充", "Add a line"),
    ("add_supplement", "追加补充 (Enter)", "Add (Enter)"),
    ("merged_caller", "重复来电", "duplicate caller"),
    (
        "exported_fallback",
        "无法打开保存对话框，已保存到",
        "No save dialog could be shown; saved to",
    ),
    ("view_dossier", "查看档案", "View dossier"),
    ("minutes_ago", "分钟前", "min apart"),
    ("metres", "米", "m"),
    ("unlink", "撤销合并", "Undo link"),
    ("link_to", "并入", "Link to"),
    (
        "unlinked",
        "已撤销合并，警情重新打开",
        "Link undone: the call is open again",
    ),
    ("no_duplicates", "没有疑似重复的警情", "No possible duplicate to link"),
    ("intake", "接警登记", "Intake"),
    ("phone", "报警电话", "Caller phone"),
    ("name", "姓名", "Name"),
    ("callback", "回拨号码", "Callback number"),
    ("location", "地点", "Location"),
    ("jurisdiction", "管辖", "Jurisdiction"),
    ("narrative", "报警内容", "Complaint"),
    ("suggested", "建议", "Suggested"),
    ("confidence", "置信度", "confidence"),
    ("runner_up", "次选", "runner-up"),
    ("reasons", "依据", "Reasons"),
    ("save", "保存 (Ctrl+S)", "Save (Ctrl+S)"),
    ("dispatch", "派警 (F2)", "Dispatch (F2)"),
    ("dispatch_unit", "派警", "Dispatch"),
    ("resume", "继续处理", "Resume"),
    ("on_shift", "在班接警员", "Operators on shift"),
    ("seconds_unit", "秒", " s"),
    ("taken_by", "刚被同事接走：", "was just taken by "),
    ("samples", "样本数", "n ="),
    (
        "sent_from_outbox",
        "待发送的警情已提交，可在队列中继续处理",
        "A call from the outbox was delivered; resume it from the queue",
    ),
    ("resumed", "已打开本人接管的警情", "Your call is back on the form"),
    ("refer", "分流 (F3)", "Refer (F3)"),
    ("close_invalid", "无效警情 (F4)", "Close as invalid (F4)"),
    ("link_duplicate", "合并重复 (F5)", "Link duplicate (F5)"),
    ("release", "退回队列 (Esc)", "Release (Esc)"),
    ("triage", "研判", "Triage"),
    ("history", "来电历史", "Caller history"),
    ("calls", "次来电", "calls"),
    ("invalid_calls", "次无效", "invalid"),
    (
        "nuisance_banner",
        "▲ 骚扰来电预警：仅供参考，请照常核实警情",
        "▲ Known nuisance caller: a warning only, assess the call as usual",
    ),
    ("mark_warning_read", "已阅提示", "Mark read"),
    ("warning_read_done", "已阅骚扰提示", "Warning marked read"),
    ("acknowledged", "警力已签收", "The unit acknowledged"),
    ("sign_for", "签收", "Acknowledge"),
    ("duplicates", "疑似重复", "Possible duplicates"),
    ("units", "推荐警力", "Recommended units"),
    ("unit_board", "警力", "Units"),
    ("all_units", "全部警力", "All units"),
    ("no_units_out", "暂无出动警力", "No unit out"),
    ("no_units", "无可用警力", "No available unit"),
    (
        "place_unresolved",
        "地址未识别：请问清区县、街路或标志物",
        "Place not found: ask for the county, street or a landmark",
    ),
    ("place_vague", "位置不精确，请核实", "vague: confirm with the caller"),
    ("referral_number", "分流单号", "Work order"),
    ("read_to_caller", "请告知报警人", "read it to the caller"),
    ("saved", "已保存", "Saved"),
    ("claimed", "已接警", "Taken"),
    ("dispatched", "已派警", "Dispatched"),
    ("referred", "已分流", "Referred"),
    ("closed", "已关闭", "Closed"),
    ("linked", "已合并", "Linked"),
    ("released", "已退回队列", "Released"),
    (
        "queued_offline",
        "服务不可达，已存入待发送，恢复后自动提交",
        "Service unreachable: kept in the outbox and sent when it is back",
    ),
    (
        "no_call",
        "从左侧队列接警，或按 F1 新建警情",
        "Take a call from the queue, or press F1 for a new call",
    ),
    ("sign_in", "登录", "Sign in"),
    ("user", "用户名", "User"),
    ("password", "密码", "Password"),
    ("callbacks", "回拨任务", "Callbacks"),
    ("inbox", "分流工单", "Referral inbox"),
    ("accept", "受理", "Accept"),
    ("feedback", "反馈", "Feedback"),
    ("send_feedback", "提交反馈", "Send feedback"),
    ("close", "办结", "Close"),
    ("overdue", "超时", "overdue"),
    ("reason_invalid", "无效报警", "invalid call"),
    ("view_desk", "接警", "Call taking"),
    ("view_lead", "值班长", "Shift lead"),
    ("tab_oversight", "队列监控", "Queue oversight"),
    ("tab_stats", "统计", "Statistics"),
    ("tab_referrals", "分流跟踪", "Referrals"),
    ("tab_nuisance", "骚扰号码", "Nuisance callers"),
    ("tab_audit", "审计日志", "Audit log"),
    ("tab_map", "态势图", "Map"),
    ("map", "地图", "Map"),
    ("map_fit", "全省", "Whole province"),
    ("map_heat", "24小时热力", "24 h heat"),
    ("map_pin", "地图选点", "set on the map"),
    ("map_open_calls", "在办警情", "Open calls"),
    ("map_units_out", "出动警力", "Units out"),
    ("no_alerts", "无告警", "No alerts"),
    ("alert_wave", "骚扰来电", "Harassment wave"),
    ("alert_wait", "等待超时", "Waiting too long"),
    ("alert_hold", "占用过久", "Held too long"),
    ("times", "次", "calls"),
    ("minutes", "分钟", "min"),
    ("held_for", "占用时长", "Held for"),
    ("not_taken", "未接", "Not taken"),
    ("reassign", "改派", "Reassign"),
    ("set_priority", "调整等级", "Change priority"),
    ("free_call", "强制退回", "Release"),
    ("reason", "原因", "Reason"),
    (
        "reason_needed",
        "请填写原因（记入审计日志）",
        "Give a reason (it goes into the audit log)",
    ),
    ("confirm", "确定", "Confirm"),
    ("cancel", "取消", "Cancel"),
    ("to_operator", "改派给", "Reassign to"),
    ("choose", "请选择", "Choose"),
    ("range", "时间范围", "Range"),
    ("range_shift", "本班", "This shift"),
    ("range_prev", "上一班", "Previous shift"),
    ("range_24h", "近24小时", "Last 24 hours"),
    ("range_7d", "近7天", "Last 7 days"),
    ("range_30d", "近30天", "Last 30 days"),
    ("range_year", "近一年", "Last year"),
    (
        "qa_month_only",
        "质检一次最多审查31天：显示近31天",
        "A review covers at most 31 days: showing the last 31",
    ),
    ("refresh", "刷新", "Refresh"),
    ("loading", "加载中", "Loading"),
    ("total_calls", "来电总数", "Calls"),
    ("police_calls", "有效警情", "Police matters"),
    ("non_police_calls", "非警务（分流）", "Not police (referred)"),
    ("invalid_share", "无效", "Invalid"),
    ("unclassified", "未分类", "Unclassified"),
    ("claim_delay", "接起时长", "Time to answer"),
    ("dispatch_delay", "接警至派警", "Intake to dispatch"),
    ("on_scene_delay", "派警至到场", "Dispatch to on scene"),
    ("median", "中位数", "p50"),
    ("p90", "90%分位", "p90"),
    ("within_target", "达标率", "Within target"),
    ("queue_depth", "排队数", "Queue depth"),
    ("unclaimed", "未接", "unclaimed"),
    ("oldest_wait", "最长等待", "Oldest wait"),
    ("operator", "接警员", "Operator"),
    ("handled", "处理数", "Handled"),
    ("avg_handling", "平均处理时长", "Avg handling"),
    ("holding", "在手", "Holding"),
    ("calls_per_hour", "每小时来电（按渠道）", "Calls per hour by channel"),
    ("calls_per_day", "每日来电（按渠道）", "Calls per day by channel"),
    ("by_category", "按类别", "By category"),
    ("by_agency", "按分流单位", "By agency"),
    (
        "triage_agreement",
        "研判建议采纳率",
        "Triage suggestions kept by operators",
    ),
    (
        "no_confirmed_calls",
        "本时段暂无接警员确认的警情",
        "No calls confirmed by an operator in this range",
    ),
    ("kept_overall", "总体采纳", "Kept overall"),
    (
        "danger_to_life",
        "可能危及生命，按P1处置：",
        "Possible danger to life, treat as P1:",
    ),
    ("suggested_category", "建议类别", "Suggested category"),
    ("confirmed_calls", "已确认", "Confirmed"),
    ("kept_category", "类别采纳", "Category kept"),
    ("kept_priority", "类别与等级均采纳", "Category and priority kept"),
    ("depth_over_time", "队列深度（逐小时）", "Queue depth hour by hour"),
    ("depth_by_day", "队列深度（逐日）", "Queue depth day by day"),
    ("export_csv", "导出CSV", "Export CSV"),
    ("exported", "已导出", "Exported"),
    ("dossier_csv", "档案CSV", "Dossier CSV"),
    ("dossier_html", "打印档案", "Printable dossier"),
    ("flag", "标记", "Flag"),
    ("flag_kind", "标记类型", "Flag type"),
    ("unflag", "取消标记", "Unflag"),
    ("note", "备注", "Note"),
    ("wasted", "无效出警", "Wasted patrols"),
    ("last_call", "最近来电", "Last call"),
    ("flags", "标记", "Flags"),
    ("age", "时长", "Age"),
    ("time", "时间", "Time"),
    ("action", "操作", "Action"),
    ("incident", "警情", "Incident"),
    ("search", "查询", "Search"),
    ("outcome", "处置结果", "Outcome"),
    ("open", "处理中", "open"),
    ("dossier_title", "报警人档案", "Caller dossier"),
    ("generated", "生成时间", "Generated"),
    ("id", "编号", "No."),
    ("received", "接警时间", "Received"),
    ("referral", "分流", "Referral"),
    ("reassigned", "已改派", "Reassigned"),
    ("reprioritised", "已调整等级", "Priority changed"),
    ("reviewed", "退回已处理", "Return reviewed"),
    ("followups", "待回访", "Follow-ups to make"),
    ("no_followups", "没有待回访的来电人", "No callers to follow up"),
    ("dissatisfied_reason", "不满意原因", "Why dissatisfied"),
    ("satisfied", "满意", "Satisfied"),
    ("dissatisfied", "不满意", "Dissatisfied"),
    ("unreachable", "未接通", "Unreachable"),
    ("tab_followups", "回访整改", "Follow-up"),
    ("tab_qa", "质检", "Quality"),
    ("kpi_ack", "派警至签收", "Dispatch to acknowledged"),
    ("kpi_out", "接警至出警", "Call to police out"),
    ("kpi_feedback", "派警至反馈", "Dispatch to feedback"),
    ("qa_score", "质检得分", "QA score"),
    ("qa_sampled", "抽检待评", "Drawn for review"),
    ("qa_no_sampled", "没有待评的抽检警情", "Nothing drawn for review"),
    ("qa_hand_score", "人工评分", "Score"),
    ("qa_coaching", "辅导意见", "Coaching note"),
    ("qa_save_review", "保存评分", "Save review"),
    ("qa_reviewed", "已评", "Reviewed"),
    ("qa_operators", "接警员质检", "Operators"),
    ("qa_failed_calls", "未通过的警情", "Calls that failed a check"),
    ("qa_calls_n", "警情数", "Calls"),
    ("qa_p1_late", "P1超时派警", "P1 dispatched late"),
    ("export_qa", "导出质检CSV", "Export QA CSV"),
    ("rectifications", "整改事项", "Rectifications"),
    ("no_rectifications", "没有待整改事项", "Nothing to rectify"),
    ("rectify_note", "整改情况", "What was done"),
    ("close_rectification", "整改完成", "Close"),
    ("due_in", "期限", "Due"),
    ("satisfaction", "满意度", "Satisfaction"),
    ("followup_coverage", "回访完成", "Followed up"),
    ("by_unit", "按处警单位", "By unit"),
    ("by_operator", "按接警员", "By operator"),
    ("agency_work", "联动单位办理情况", "Linked agencies' work orders"),
    (
        "no_referrals_in_range",
        "本时段没有分流工单",
        "No work orders in this range",
    ),
    ("referrals_sent", "派单", "Sent"),
    ("accepted_n", "受理", "Accepted"),
    ("returned_n", "退回", "Returned"),
    ("closed_n", "办结", "Closed"),
    ("avg_accept", "平均受理用时", "Mean time to accept"),
    ("avg_close", "平均办结用时", "Mean time to close"),
    ("returned_for_review", "退回待审", "Returned, awaiting review"),
    ("no_returns", "没有待审的退回工单", "No returned work orders"),
    ("open_referrals", "在办工单", "Open work orders"),
    ("deadline", "时限", "Deadline"),
    ("deadline_accept", "受理", "accept"),
    ("deadline_feedback", "反馈", "feedback"),
    ("deadline_close", "办结", "close"),
    ("days_short", "天", "d"),
    ("still_ours", "未受理，110负责", "110 answers until accepted"),
    ("review_note", "审核意见", "Review note"),
    ("insist", "坚持原单位", "Insist"),
    ("reroute", "确认改派", "Re-route"),
    ("reroute_to", "改派至", "Re-route to"),
    ("three_way", "三方通话", "Three-way call"),
    ("three_way_parties", "三方通话参与方", "Three-way call parties"),
    ("three_way_hint", "如：来电人、110、12345", "e.g. caller, 110, 12345"),
    ("record_three_way", "记录三方通话", "Record three-way call"),
    ("take_back", "收回为警情", "Take back as police"),
    ("return_reason", "退回原因", "Reason"),
    ("return_note", "退回说明", "Note"),
    ("return_referral", "退回", "Return"),
    ("alerts", "告警", "Alerts"),
];

/// A translation key known to be in [`TABLE`]. Made only by [`Key::new`]
/// in a constant, which the [`k!`](crate::k) macro does: a key missing from
/// the table stops the build instead of showing the bare key on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(&'static str);

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Key {
    /// Panics (at compile time, when used in a constant) if the table
    /// lacks `key`.
    pub const fn new(key: &'static str) -> Key {
        let mut i = 0;
        while i < TABLE.len() {
            if same(TABLE[i].0, key) {
                return Key(key);
            }
            i += 1;
        }
        panic!("a translation key missing from console::i18n::TABLE")
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// A translation [`Key`], checked against the table when the crate builds.
#[macro_export]
macro_rules! k {
    ($key:literal) => {{
        const KEY: $crate::console::i18n::Key = $crate::console::i18n::Key::new($key);
        KEY
    }};
}

impl Lang {
    /// The text for `key` in this language.
    pub fn tr(self, key: Key) -> &'static str {
        let key = key.0;
        match TABLE.iter().find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => match self {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => key,
        }
    }

    pub fn toggled(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// Display names of domain codes.
pub fn code_name(lang: Lang, code: &str) -> &'static str {
    const CODES: &[(&str, &str, &str)] = &[
        ("P1", "P1 紧急", "P1 critical"),
        ("P2", "P2 急", "P2 urgent"),
        ("P3", "P3 一般", "P3 routine"),
        ("P4", "P4 非警务", "P4 not police"),
        ("hangup", "挂断未语", "hung up"),
        ("silent", "无声电话", "silent"),
        ("voice", "电话", "Voice"),
        ("sms", "短信", "SMS"),
        ("wechat", "微信", "WeChat"),
        ("web", "网络", "Web"),
        ("criminal", "刑事", "Criminal"),
        ("public_order", "治安", "Public order"),
        ("mass_incident", "群体性", "Mass incident"),
        ("disaster_accident", "灾害事故", "Disaster/accident"),
        ("other_crime_urgent", "其他紧急违法", "Urgent crime"),
        ("public_safety_help", "紧急求助", "Public safety"),
        ("police_misconduct", "警务违规", "Police misconduct"),
        ("non_police", "非警务", "Non-police"),
        ("invalid", "无效", "Invalid"),
        ("new", "待接", "New"),
        ("in_progress", "处理中", "In progress"),
        ("dispatched", "已派警", "Dispatched"),
        ("on_scene", "到场", "On scene"),
        ("resolved", "已处置", "Resolved"),
        ("referred", "已分流", "Referred"),
        ("closed", "已关闭", "Closed"),
        ("available", "可用", "Available"),
        ("en_route", "出警中", "En route"),
        ("assigned", "待签收", "Awaiting ack"),
        ("coordinates", "定位", "Position"),
        ("landmark", "地标", "Landmark"),
        ("street", "街路", "Street"),
        ("station_area", "辖区", "Station area"),
        ("county", "县区", "County"),
        ("prefecture", "地市", "City"),
        ("off_duty", "下班", "Off duty"),
        ("station", "派出所", "Station"),
        ("patrol", "巡逻车", "Patrol"),
        ("traffic", "交警", "Traffic"),
        ("sent", "已发送", "Sent"),
        ("accepted", "已受理", "Accepted"),
        ("feedback", "已反馈", "Feedback"),
        ("returned", "已退回", "Returned"),
        ("withdrawn", "已撤回", "Withdrawn"),
        ("not_ours", "非本单位职责", "Not ours"),
        ("police_first", "需公安先处置", "Police first"),
        ("nuisance", "骚扰", "Nuisance"),
        ("abusive", "辱骂", "Abusive"),
        ("false_report", "谎报", "False report"),
        ("duplicate", "重复", "Duplicate"),
        ("advice", "咨询答复", "Advice given"),
        // Why a call may be a duplicate.
        ("same_caller", "同一来电号码", "same caller"),
        ("same_place", "同一地点", "same place"),
        ("same_area", "同一辖区", "same area"),
        ("same_kind", "同类", "same kind"),
        ("similar_text", "描述相近", "similar words"),
        // Audit actions.
        ("incident.created", "警情登记", "call received"),
        ("incident.claimed", "接警", "taken"),
        ("incident.released", "退回队列", "released"),
        ("incident.updated", "修改", "edited"),
        ("incident.dispatched", "派警", "dispatched"),
        ("incident.on_scene", "到场", "on scene"),
        ("incident.resolved", "处置完毕", "resolved"),
        ("incident.referred", "分流", "referred"),
        ("incident.closed", "关闭", "closed"),
        ("incident.linked", "合并重复", "linked as duplicate"),
        ("incident.unlinked", "撤销合并", "link undone"),
        ("incident.reassigned", "改派", "reassigned"),
        ("incident.reprioritised", "调整等级", "priority changed"),
        ("referral.sent", "分流工单发出", "work order sent"),
        ("referral.accepted", "工单受理", "work order accepted"),
        ("referral.feedback", "工单反馈", "work order feedback"),
        ("referral.closed", "工单办结", "work order closed"),
        ("referral.returned", "工单退回", "work order returned"),
        ("referral.three_way", "三方通话", "three-way call"),
        ("followup.opened", "生成回访", "follow-up opened"),
        ("qa.reviewed", "质检评分", "call reviewed"),
        ("location_recorded", "派警前记录地点", "place recorded before dispatch"),
        ("p1_dispatched_in_time", "P1按时派警", "P1 dispatched in time"),
        ("callback_in_time", "按时回拨", "called back in time"),
        ("referral_accepted_in_time", "分流按时受理", "referral accepted in time"),
        (
            "category_chosen",
            "警情类别由接警员确认",
            "category set by the operator",
        ),
        (
            "warning_read",
            "无效关闭前已阅骚扰提示",
            "nuisance warning read before invalid close",
        ),
        ("followup.done", "回访完成", "followed up"),
        ("rectification.opened", "生成整改", "rectification opened"),
        ("rectification.closed", "整改完成", "rectification closed"),
        ("referral.insisted", "坚持转办", "return refused, sent again"),
        ("referral.withdrawn", "工单撤回", "work order withdrawn"),
        ("incident.rerouted", "改派分流", "re-routed"),
        ("incident.taken_back", "收回警情", "taken back"),
        ("callback.closed", "回拨完成", "callback done"),
        ("caller.flagged", "标记号码", "number flagged"),
        ("caller.unflagged", "取消标记", "flag removed"),
        ("unit.status", "警力状态", "unit status"),
        ("user.created", "新建账号", "account created"),
    ];
    if let Some((_, zh, en)) = CODES.iter().find(|(k, _, _)| *k == code) {
        return match lang {
            Lang::Zh => zh,
            Lang::En => en,
        };
    }
    match code.parse::<crate::model::Agency>() {
        Ok(a) => match lang {
            Lang::Zh => a.display_name_zh(),
            Lang::En => a.display_name_en(),
        },
        Err(_) => "?",
    }
}

/// `(code, 中文, English)`: the service's stable error codes, worded for an
/// operator. English keeps the service's own, more precise message.
const ERRORS: &[(&str, &str)] = &[
    ("held_by_other", "此警情已由其他接警员处理"),
    ("not_claimed", "请先接警，再处理此警情"),
    ("wrong_state", "警情状态已变化，不能再执行此操作"),
    ("not_held", "此警情当前无人处理"),
    ("unit_busy", "该警力已不可用，请选择其他可用警力"),
    ("not_linked", "此警情未被合并为重复警情"),
    ("not_your_link", "只有合并该警情的接警员或值班长可以撤销合并"),
    ("already_holds", "该接警员已在处理此警情"),
    ("already_priority", "警情已是该等级"),
    ("already_acknowledged", "该警力已签收此警单"),
    ("lead_only", "此操作仅限值班长"),
    ("not_your_referral", "只有对应单位的账号可以处理此工单"),
    ("not_your_followup", "此账号不能登记这条回访"),
    ("staff_only", "只有110工作人员可以登记三方通话"),
    ("not_your_rectification", "只有值班长或被整改单位可以关闭此整改"),
    ("stale_version", "警情刚被他人修改，请重新打开后再试"),
    ("not_signed_in", "该接警员未登录，不能改派给他"),
    ("unauthorized", "登录已失效，请重新登录"),
    ("wrong_password", "用户名或密码错误"),
    ("too_many_attempts", "登录失败次数过多，请稍后再试"),
    ("forbidden", "当前角色无权执行此操作"),
    ("not_found", "未找到该记录"),
    ("conflict", "操作冲突，请刷新后重试"),
    ("too_large", "提交的内容过大"),
    ("bad_body", "提交的数据格式不正确"),
    ("method_not_allowed", "不支持的操作"),
    ("unsupported_media_type", "提交的数据格式不正确"),
    ("unavailable", "警情服务暂时不可用，未做任何更改，请稍后重试"),
    ("internal", "警情服务内部错误，未做任何更改"),
];

/// Input fields named as the form names them.
const FIELDS: &[(&str, &str)] = &[
    ("phone", "报警电话格式不正确（手机 11 位，座机需带区号）"),
    ("callback_number", "回拨号码格式不正确（手机 11 位，座机需带区号）"),
    ("narrative", "报警内容不能为空，且不超过 10000 字"),
    ("location", "地点过长"),
    ("caller_name", "姓名过长"),
    ("wechat_id", "微信渠道需填写微信号或电话"),
    ("web_account", "网上报警需填写账号或电话"),
    ("lat", "坐标不正确"),
    ("lon", "坐标不正确"),
    ("received_at", "接警时间不正确"),
    ("reason", "请填写原因（不超过 200 字），将记入审计日志"),
    ("feedback", "反馈内容不能为空，且不超过 10000 字"),
    ("agency", "请选择分流单位"),
    ("unit_id", "所选警力不存在"),
    ("co_notify", "同时通知的单位不正确"),
    ("of", "不能把警情合并到它自己"),
    ("note", "备注过长"),
    ("text", "补充内容不能为空，且不超过 2000 字"),
];

/// An error in the operator's language: Chinese words the stable `code`
/// (for invalid input, the field); English shows the service's message.
pub fn error_text(lang: Lang, code: &str, field: Option<&str>, message: &str) -> String {
    if lang == Lang::En {
        return message.to_owned();
    }
    if let Some(f) = field
        && let Some((_, zh)) = FIELDS.iter().find(|(k, _)| *k == f)
    {
        return (*zh).to_owned();
    }
    match ERRORS.iter().find(|(k, _)| *k == code) {
        Some((_, zh)) => (*zh).to_owned(),
        None if field.is_some() || code == "invalid_input" => "填写有误，请检查后重试".to_owned(),
        None => "操作未成功，请重试".to_owned(),
    }
}

/// What a failed call to the service means for the operator.
pub fn client_error(lang: Lang, e: &crate::client::ClientError) -> String {
    use crate::client::ClientError;
    match (e, lang) {
        (
            ClientError::Api {
                code, field, message, ..
            },
            _,
        ) => error_text(lang, code, field.as_deref(), message),
        (ClientError::Unreachable(_), Lang::Zh) => "无法连接警情服务，请检查网络".to_owned(),
        (ClientError::Decode(_), Lang::Zh) => "警情服务返回了无法识别的数据".to_owned(),
        (e, Lang::En) => e.to_string(),
    }
}

/// A failure from the background, as the operator reads it.
pub fn failure_text(lang: Lang, f: &crate::console::command::Failure) -> String {
    use crate::console::command::Failure;
    match f {
        Failure::Service(e) => client_error(lang, e),
        Failure::Refused { first_words, error } => format!(
            "{}「{first_words}」：{}",
            lang.tr(k!("outbox_refused")),
            client_error(lang, error)
        ),
        Failure::TakenBy { id, name } => format!("#{id} {}{name}", lang.tr(k!("taken_by"))),
        Failure::Disk(e) => format!("{}: {e}", lang.tr(k!("disk_failed"))),
        Failure::OutboxUnreadable(n) => format!("{} ({n})", lang.tr(k!("outbox_unreadable"))),
    }
}

/// A rule the form broke, checked in the console before anything is sent.
pub fn domain_error(lang: Lang, e: &crate::model::DomainError) -> String {
    use crate::model::DomainError;
    match e {
        DomainError::Invalid { field, message } => error_text(lang, "invalid_input", Some(field), message),
        DomainError::Conflict { code, message } | DomainError::Forbidden { code, message } => {
            error_text(lang, code, None, message)
        }
    }
}

/// A triage reason as the operator reads it: the engine writes its rules in
/// English (they are logged and exported too), the console shows them in the
/// operator's language. Danger compositions are named from the lexicon.
pub fn reason_text(lang: Lang, r: &crate::model::Reason) -> String {
    let body = match lang {
        Lang::En => r.rule.clone(),
        Lang::Zh => reason_zh(&r.rule),
    };
    if r.keyword.is_empty() {
        body
    } else {
        format!("「{}」 {body}", r.keyword)
    }
}

fn reason_zh(rule: &str) -> String {
    let name = |code: &str| code_name(Lang::Zh, code.trim());
    let weight = |rest: &str| rest.rsplit_once(" +").map_or(String::new(), |(_, w)| format!(" +{w}"));
    let before_weight = |rest: &str| rest.rsplit_once(" +").map_or(rest.to_owned(), |(c, _)| c.to_owned());
    if let Some(rest) = rule.strip_prefix("cue: ") {
        return format!("类别线索：{}{}", name(&before_weight(rest)), weight(rest));
    }
    if let Some(rest) = rule.strip_prefix("agency: ") {
        return format!("分流线索：{}{}", name(&before_weight(rest)), weight(rest));
    }
    if let Some(rest) = rule.strip_prefix("combination: ") {
        let target = rest.rsplit_once(" → ").map_or(rest, |(_, t)| t);
        return format!("组合规则 → {}{}", name(&before_weight(target)), weight(target));
    }
    if let Some(rest) = rule.strip_prefix(crate::triage::DANGER_TO_LIFE) {
        let lexicon = crate::triage::active();
        let parts: Vec<String> = rest
            .trim_start_matches(':')
            .split("; ")
            .map(|part| {
                let part = part.trim();
                if let Some(p) = part
                    .strip_prefix("the model reads a threat to life (")
                    .and_then(|p| p.strip_suffix(')'))
                {
                    return format!("模型判断有生命危险（{p}）");
                }
                lexicon
                    .lexicon()
                    .compositions
                    .iter()
                    .find(|c| c.name == part)
                    .map_or_else(|| part.to_owned(), |c| c.zh.clone())
            })
            .collect();
        return format!("可能危及生命：{}", parts.join("；"));
    }
    if let Some(rest) = rule.strip_prefix("safety: ") {
        let cat = rest
            .rsplit_once('(')
            .and_then(|(_, c)| c.strip_suffix(')'))
            .map_or(String::new(), |c| format!("（{}）", name(c)));
        return format!("安全规则：可能危及生命，按警情处理{cat}");
    }
    if let Some(rest) = rule.strip_prefix("model: weighs towards ") {
        return format!("模型依据：倾向{}", name(rest));
    }
    if let Some(rest) = rule.strip_prefix("negated: ") {
        return format!("否定：{rest}");
    }
    if let Some(rest) = rule.strip_prefix("caller has ") {
        let n = rest.split_whitespace().next().unwrap_or("?");
        return format!("该号码30天内无效报警{n}次（仅提示）");
    }
    match rule {
        "danger to life: P1" => "危及生命：P1".into(),
        "possible danger: P1 unless nobody is at risk" => "可能有危险：P1（除非无人受威胁）".into(),
        "nobody at risk" => "无人受威胁".into(),
        "past, reported later or damage only" => "事后报警或仅财产损失".into(),
        "in progress" => "正在发生".into(),
        "no words: nothing was said" => "没有报警内容".into(),
        "someone may be hurt or trapped: P1" => "可能有人受伤或被困：P1".into(),
        "caller is flagged as a nuisance caller (a warning only)" => "该号码已标记为骚扰号码（仅提示）".into(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_error_code_reads_in_chinese() {
        // Every code the service can send, from its source, has a wording.
        let mut sources = String::new();
        for dir in ["src/server", "src/model", "src/store"] {
            for f in std::fs::read_dir(dir).expect("dir") {
                let p = f.expect("entry").path();
                if p.extension().is_some_and(|e| e == "rs") {
                    sources += &std::fs::read_to_string(p).expect("source");
                }
            }
        }
        // The literal after `StatusCode::X,` or `DomainError::conflict(`.
        let mut codes = std::collections::BTreeSet::new();
        for marker in ["StatusCode::", "DomainError::conflict(", "DomainError::forbidden("] {
            for piece in sources.split(marker).skip(1) {
                let rest = if marker == "StatusCode::" {
                    let rest = piece.trim_start_matches(|c: char| c.is_ascii_uppercase() || c == '_');
                    match rest.trim_start().strip_prefix(',') {
                        Some(r) => r,
                        None => continue,
                    }
                } else {
                    piece
                };
                if let Some(lit) = rest.trim_start().strip_prefix('"')
                    && let Some((code, _)) = lit.split_once('"')
                    && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                {
                    codes.insert(code.to_owned());
                }
            }
        }
        assert!(codes.len() >= 15, "{codes:?}");
        for code in &codes {
            let zh = error_text(Lang::Zh, code, None, "english");
            assert!(
                zh != "操作未成功，请重试" && zh != "english",
                "no Chinese wording for the error code {code:?}"
            );
        }
        assert_eq!(
            error_text(Lang::Zh, "invalid_input", Some("phone"), "invalid phone number \"12\""),
            "报警电话格式不正确（手机 11 位，座机需带区号）"
        );
        assert_eq!(
            error_text(Lang::En, "unit_busy", None, "unit X is en_route"),
            "unit X is en_route"
        );
    }

    #[test]
    fn triage_reasons_read_in_chinese() {
        use crate::triage::{HistoryStats, TriageInput};
        let engine = crate::triage::active();
        let cases = [
            ("有人拿着刀在超市里晃，好多人，没人受伤", None),
            ("我不方便说话，他又回来了，手里有刀", None),
            ("我家宽带断了三天了，打客服一直占线", None),
            ("[表情][表情]", None),
            (
                "楼下有人偷电动车，已经骑走了",
                Some(HistoryStats {
                    total_calls: 9,
                    invalid_last_30d: 5,
                    flagged: true,
                }),
            ),
            ("民警喝了酒开着警车，还打人", None),
        ];
        for (text, history) in cases {
            let s = engine.triage(&TriageInput {
                channel: crate::model::Channel::Voice,
                text,
                history,
            });
            for r in &s.reasons {
                let zh = reason_text(Lang::Zh, r);
                let letters = zh
                    .replace("P1", "")
                    .replace("P2", "")
                    .replace("P3", "")
                    .replace(&r.keyword, "")
                    .chars()
                    .filter(char::is_ascii_alphabetic)
                    .count();
                assert_eq!(letters, 0, "{text}: {:?} reads {zh:?}", r.rule);
                assert!(reason_text(Lang::En, r).contains(&r.rule));
            }
        }
    }

    #[test]
    fn table_has_no_duplicates_and_both_languages() {
        for (i, (k, zh, en)) in TABLE.iter().enumerate() {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
            assert!(
                TABLE[i + 1..].iter().all(|(other, _, _)| other != k),
                "duplicate key {k}"
            );
        }
        assert_eq!(Lang::Zh.tr(k!("dispatch")), "派警 (F2)");
        assert_eq!(Lang::En.tr(k!("dispatch")), "Dispatch (F2)");
        // Every code a panel can show has a name in both languages.
        use crate::model::{Agency, Category, Channel, Priority, Status, UnitKind, UnitStatus};
        let codes = Category::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(Channel::ALL.iter().map(|c| c.as_str()))
            .chain(Priority::ALL.iter().map(|c| c.as_str()))
            .chain(Agency::ALL.iter().map(|c| c.as_str()))
            .chain(Status::ALL.iter().map(|c| c.as_str()))
            .chain(UnitKind::ALL.iter().map(|c| c.as_str()))
            .chain(UnitStatus::ALL.iter().map(|c| c.as_str()));
        for code in codes {
            assert_ne!(code_name(Lang::Zh, code), "?", "{code}");
            assert_ne!(code_name(Lang::En, code), "?", "{code}");
        }
        // Every action's outcome has a message.
        for done in super::super::command::Done::ALL {
            assert_ne!(Lang::Zh.tr(done.key()), done.key().as_str(), "{done:?}");
            assert_ne!(Lang::En.tr(done.key()), done.key().as_str(), "{done:?}");
        }
    }
}
