//! The console's words, in Vietnamese first and English as a switch (the `lang` cookie), and
//! numbers, money and dates written the way each language writes them.

use actix_web::HttpRequest;
use chrono::{DateTime, NaiveDate};
use chrono_tz::Asia::Ho_Chi_Minh;
use rust_decimal::Decimal;

/// The cookie that holds the chosen language.
pub const LANG_COOKIE: &str = "lienganh_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

/// Every text of the console: key, Vietnamese, English.
const TEXTS: &[(&str, &str, &str)] = &[
    ("app", "Liên ngành THADS", "Lienganh interagency"),
    ("inbox", "Việc cần làm", "To do"),
    ("instances", "Hồ sơ", "Cases in progress"),
    ("users", "Người dùng", "Users"),
    ("sign_in", "Đăng nhập", "Sign in"),
    ("sign_out", "Đăng xuất", "Sign out"),
    ("sign_in_with", "Đăng nhập qua", "Sign in with"),
    (
        "provider_refused",
        "Không đăng nhập được qua nhà cung cấp định danh: hãy thử lại từ trang đăng nhập.",
        "The sign-in through the identity provider failed: try again from the sign-in page.",
    ),
    (
        "provider_unavailable",
        "Chưa liên hệ được nhà cung cấp định danh: hãy thử lại sau.",
        "The identity provider cannot be reached: try again later.",
    ),
    ("username", "Tên đăng nhập", "Username"),
    ("password", "Mật khẩu", "Password"),
    (
        "refused",
        "Sai tên đăng nhập hoặc mật khẩu. Sau 5 lần sai liên tiếp, tài khoản bị tạm khóa 15 phút.",
        "Wrong username or password. After 5 failures in a row the account is locked for 15 minutes.",
    ),
    (
        "busy",
        "Hệ thống đang bận. Vui lòng thử lại sau ít phút.",
        "The service is busy. Please try again in a few minutes.",
    ),
    ("form_expired", "Biểu mẫu đã hết hạn. Vui lòng thử lại.", "The form has expired. Please try again."),
    ("deadlines_due", "Hạn phải xử lý", "Deadlines to meet"),
    ("no_deadlines", "Không có hạn nào đang chờ.", "No deadline is waiting."),
    ("unread", "Thông báo chưa đọc", "Unread notifications"),
    ("no_unread", "Không có thông báo mới.", "No new notification."),
    ("mark_read", "Đánh dấu đã đọc", "Mark as read"),
    ("overdue", "Quá hạn", "Overdue"),
    ("due", "Hạn", "Due"),
    ("legal_basis", "Căn cứ pháp lý", "Legal basis"),
    (
        "operational_choice",
        "Lựa chọn vận hành của quy trình, không do văn bản pháp luật quy định",
        "Operational choice of the workflow, not set by law",
    ),
    ("responsible", "Cơ quan thực hiện", "Responsible"),
    ("workflow", "Quy trình", "Workflow"),
    ("state", "Trạng thái", "State"),
    ("ended", "Đã kết thúc", "Ended"),
    ("open", "Đang xử lý", "In progress"),
    ("parties", "Các bên", "Parties"),
    ("data", "Thông tin", "Data"),
    ("deadlines", "Thời hạn", "Deadlines"),
    ("history", "Lịch sử", "History"),
    (
        "history_verified",
        "Lịch sử toàn vẹn: mọi bước khớp chuỗi băm.",
        "History verified: every step matches its hash chain.",
    ),
    ("history_broken", "Lịch sử KHÔNG toàn vẹn", "History does NOT verify"),
    ("actions", "Thao tác được phép", "What you may do"),
    ("no_actions", "Bạn không có thao tác nào ở bước này.", "There is nothing for you to do at this step."),
    ("submit", "Thực hiện", "Submit"),
    ("comment", "Ghi chú", "Comment"),
    ("when", "Thời điểm", "When"),
    ("who", "Người thực hiện", "Who"),
    ("step", "Bước", "Step"),
    ("status", "Tình trạng", "Status"),
    ("met", "Đúng hạn", "Met"),
    ("missed", "Trễ hạn", "Missed"),
    ("suspended", "Tạm dừng", "Suspended"),
    ("running", "Đang chạy", "Running"),
    ("add_row", "Thêm dòng", "Add a line"),
    ("description", "Mô tả", "Description"),
    ("quantity", "Số lượng", "Quantity"),
    ("unit", "Đơn vị", "Unit"),
    ("seal", "Niêm phong", "Seal"),
    ("declared_value", "Giá trị khai báo (đồng)", "Declared value (VND)"),
    ("item", "Mục", "Item"),
    ("received", "Đã nhận", "Received"),
    ("missing", "Thiếu", "Missing"),
    ("damaged", "Hư hỏng", "Damaged"),
    ("note", "Ghi chú", "Note"),
    ("yes", "Có", "Yes"),
    ("no", "Không", "No"),
    ("choose", "— Chọn —", "— Choose —"),
    ("list_open", "Hồ sơ đang xử lý của cơ quan", "Your agency's instances in progress"),
    ("nothing", "Không có.", "None."),
    ("search", "Tìm", "Search"),
    ("search_placeholder", "Số bản án, quyết định, tên…", "Judgment or decision number, name…"),
    ("search_results", "Kết quả tìm", "Found for"),
    (
        "nothing_found",
        "Không tìm thấy hồ sơ, việc thi hành án nào trong phạm vi của bạn.",
        "Nothing found among what you may see.",
    ),
    ("found", "Tìm thấy", "Found"),
    ("numbers", "Số", "Numbers"),
    ("case", "Việc thi hành án", "Case"),
    ("found_by_personal_data", "khớp thông tin cá nhân", "matched personal data"),
    ("case_open", "Đang thi hành", "Open"),
    ("handover_record", "Biên bản giao nhận", "Handover record"),
    ("print_record", "In biên bản giao nhận", "Print the handover record"),
    ("print", "In", "Print"),
    ("record_of", "Hồ sơ", "Instance"),
    ("sending_party", "Bên giao", "Sender"),
    ("receiving_party", "Bên nhận", "Receiver"),
    ("items_sent_received", "Danh mục giao và nhận", "Items as sent and as received"),
    ("as_received", "Khi nhận", "As received"),
    ("not_yet_received", "Chưa nhận", "Not yet received"),
    (
        "record_discrepancy",
        "Khi nhận có sai lệch so với danh mục giao.",
        "The receipt records a discrepancy with the manifest.",
    ),
    ("signatures", "Chữ ký", "Signatures"),
    ("signed_as", "Ký với tư cách", "Signed as"),
    ("role", "Vai trò", "Role"),
    ("settlement", "Giải quyết sai lệch", "Settlement"),
    (
        "record_unsigned",
        "Biên bản chưa đủ chữ ký của hai bên.",
        "The record does not yet bear both sides' signatures.",
    ),
    ("documents", "Tài liệu kèm theo", "Documents"),
    ("media_type", "Loại tệp", "Type"),
    ("size", "Dung lượng", "Size"),
    ("chain_head", "Mã băm cuối của chuỗi lịch sử", "Head of the history's hash chain"),
    ("printed_at", "In lúc", "Printed at"),
    ("case_suspended", "Hoãn, tạm đình chỉ", "Suspended"),
    ("case_completed", "Thi hành xong", "Completed"),
    ("case_terminated", "Đình chỉ", "Terminated"),
    ("case_entrusted", "Đã ủy thác", "Entrusted"),
    ("name", "Họ và tên", "Full name"),
    ("agency", "Cơ quan", "Agency"),
    ("agency_code", "mã cơ quan", "agency code"),
    ("roles", "Vai trò", "Roles"),
    ("add_user", "Thêm người dùng", "Add a user"),
    ("disable", "Khóa", "Disable"),
    ("enable", "Mở khóa", "Enable"),
    ("reset_password", "Đặt lại mật khẩu", "Reset the password"),
    ("change_password", "Đổi mật khẩu", "Change your password"),
    (
        "change_password_why",
        "Mật khẩu của bạn do người khác đặt. Hãy chọn mật khẩu riêng trước khi tiếp tục.",
        "Your password was set by someone else. Choose your own before going on.",
    ),
    ("current_password", "Mật khẩu hiện tại", "Current password"),
    ("new_password_again", "Nhập lại mật khẩu mới", "New password again"),
    ("passwords_differ", "Hai lần nhập mật khẩu mới không khớp", "The two new passwords differ"),
    ("password_unchanged", "Mật khẩu mới phải khác mật khẩu hiện tại", "The new password must differ from the current one"),
    ("current_password_wrong", "Mật khẩu hiện tại không đúng", "The current password is wrong"),
    ("pending_requests", "Chờ quản trị viên thứ hai phê duyệt", "Waiting for a second admin"),
    ("requested_by", "Người đề nghị", "Asked by"),
    ("request_add_user", "Tạo tài khoản", "Add the account"),
    ("request_reset_password", "Đặt lại mật khẩu", "Reset the password"),
    ("approve", "Phê duyệt", "Approve"),
    ("decline", "Từ chối", "Decline"),
    ("awaiting_another_admin", "Chờ quản trị viên khác", "Awaiting another admin"),
    (
        "second_admin_explained",
        "Tạo tài khoản quản trị viên hoặc kiểm tra viên, và đặt lại mật khẩu của quản trị viên, cần một quản trị viên khác phê duyệt.",
        "Making an admin or an auditor, and resetting an admin's password, need another admin's approval.",
    ),
    ("new_password", "Mật khẩu mới", "New password"),
    ("disabled", "Đã khóa", "Disabled"),
    ("active", "Hoạt động", "Active"),
    ("done", "Đã lưu.", "Saved."),
    ("error", "Không thực hiện được", "Could not be done"),
    ("not_found", "Không tìm thấy", "Not found"),
    ("forbidden", "Không có quyền", "Not permitted"),
    ("new_instance", "Khởi tạo hồ sơ", "Start a case"),
    (
        "nothing_to_start",
        "Đơn vị, vai trò của bạn không khởi tạo được quy trình nào.",
        "Your agency and roles start no workflow.",
    ),
    (
        "may_not_start",
        "Đơn vị, vai trò của bạn không khởi tạo được quy trình này.",
        "Your agency and roles may not start this workflow.",
    ),
    ("start", "Khởi tạo", "Start"),
    ("joint_step", "Đang chờ ký", "Awaiting signatures"),
    ("signed_by", "đã ký:", "signed by"),
    ("awaiting_signature", "chưa ký", "not signed yet"),
    ("procuracy", "Kiểm sát", "Supervision"),
    (
        "issue_instrument",
        "Ban hành yêu cầu, kiến nghị, kháng nghị",
        "Issue a request, recommendation or protest",
    ),
    ("replies_due", "Trả lời đang chờ", "Replies due"),
    ("replies_to_assess", "Trả lời chờ đánh giá", "Replies to assess"),
    ("instruments_issued", "Văn bản đã ban hành", "Instruments issued"),
    ("document", "Văn bản", "Document"),
    ("office", "Cơ quan THADS", "Office"),
    ("issued_on", "Ngày ban hành", "Issued on"),
    ("reply", "trả lời", "reply"),
    ("steering", "Chỉ đạo", "Steering"),
    ("coercion_calendar", "Lịch cưỡng chế", "Coercion calendar"),
    ("calendar_feed", "Theo dõi bằng ứng dụng lịch", "Subscribe in a calendar app"),
    (
        "calendar_feed_explained",
        "Ứng dụng lịch (Outlook, Google Lịch, Lịch của điện thoại) theo dõi các cuộc cưỡng chế qua một đường dẫn riêng của bạn, không cần đăng nhập. Ai có đường dẫn đều xem được lịch này: giữ kín; tạo đường dẫn mới thì đường dẫn cũ hết hiệu lực ngay.",
        "Calendar apps (Outlook, Google Calendar, your phone's) follow the coercion operations through a link of your own, without signing in. Anyone with the link sees this calendar: keep it private; making a new link stops the old one at once.",
    ),
    ("calendar_feed_since", "Đường dẫn hiện tại được tạo lúc", "Your current link was made at"),
    ("calendar_feed_make", "Tạo đường dẫn", "Make a link"),
    ("calendar_feed_rotate", "Tạo đường dẫn mới", "Make a new link"),
    ("calendar_feed_revoke", "Thu hồi đường dẫn", "Revoke the link"),
    ("calendar_feed_url", "Đường dẫn để thêm vào ứng dụng lịch", "The link to add to your calendar app"),
    (
        "calendar_feed_once",
        "Đường dẫn chỉ hiện một lần này. Sao chép và thêm vào ứng dụng lịch (mục \"Thêm lịch từ URL\" hoặc \"Đăng ký lịch\").",
        "The link is shown this once. Copy it and add it to your calendar app (\"Add calendar from URL\" or \"Subscribe\").",
    ),
    ("reports", "Báo cáo thống kê", "Reports"),
    ("previous_month", "Tháng trước", "Previous month"),
    ("next_month", "Tháng sau", "Next month"),
    ("operations_this_month", "Các cuộc cưỡng chế trong tháng", "Operations this month"),
    ("police_protection", "Bảo vệ của Công an", "Police protection"),
    ("not_yet_scheduled", "Kế hoạch chưa ấn định ngày", "Plans not yet scheduled"),
    ("protection_not_asked", "Chưa gửi Công an", "Not yet sent to the police"),
    ("protection_awaited", "Chờ Công an xác nhận", "Awaiting the police"),
    ("protection_confirmed", "Công an đã xác nhận", "Confirmed by the police"),
    ("postponed", "Hoãn", "Postponed"),
    ("cancelled", "Đã hủy", "Cancelled"),
    ("target_mark", "Vạch đen: chỉ tiêu được giao", "Black mark: the target set"),
    ("reporting_year", "Năm báo cáo", "Reporting year"),
    ("show", "Xem", "Show"),
    ("enforcement_report", "Kết quả thi hành án", "Enforcement results"),
    ("coordination_report", "Phối hợp liên ngành: đúng hạn, trễ hạn", "Interagency steps: on time and late"),
    ("download_csv", "Tải về CSV", "Download CSV"),
    ("download_xlsx", "Tải về Excel (XLSX)", "Download Excel (XLSX)"),
    ("cases_enforceable", "Việc có điều kiện", "Enforceable cases"),
    ("cases_completed", "Việc xong", "Cases completed"),
    ("cases_rate", "Tỷ lệ về việc", "Rate in cases"),
    ("money_enforceable", "Tiền có điều kiện (đ)", "Enforceable amount (VND)"),
    ("money_completed", "Tiền thu được (đ)", "Amount collected (VND)"),
    ("money_rate", "Tỷ lệ về tiền", "Rate in money"),
    ("no_late_steps", "Không có bước nào trễ hạn.", "No step is late."),
    (
        "late_steps_by_agency",
        "Bước trễ hạn và đang quá hạn, theo cơ quan",
        "Late and overdue steps by agency",
    ),
    ("on_time", "Đúng hạn", "On time"),
    ("more", "Trang sau", "Next page"),
    ("account_events", "Nhật ký tài khoản", "Account events"),
    ("account_action", "Việc", "What"),
    ("done_by", "Người thực hiện", "Done by"),
    ("total", "Tổng:", "All of"),
    ("late", "Trễ hạn", "Late"),
    ("overdue_now", "Đang quá hạn", "Overdue now"),
    (
        "stale",
        "Hồ sơ đã được cập nhật bởi người khác. Vui lòng xem lại.",
        "Someone else has moved this on. Please look again.",
    ),
    ("back", "Quay lại", "Back"),
    ("language", "English", "Tiếng Việt"),
    ("skip", "Chuyển đến nội dung", "Skip to content"),
];

/// The choices the definitions offer, as each language names them; one not here is shown as
/// the definition spells it.
const OPTIONS: &[(&str, &str, &str)] = &[
    ("request", "Yêu cầu", "Request"),
    ("recommendation", "Kiến nghị", "Recommendation"),
    ("protest", "Kháng nghị", "Protest"),
    ("same_level", "Viện kiểm sát cùng cấp", "Same-level procuracy"),
    ("superior_level", "Viện kiểm sát cấp trên", "Superior procuracy"),
    ("in_person", "Trực tiếp", "In person"),
    ("post", "Bưu điện", "By post"),
    ("electronic", "Điện tử", "Electronic"),
    ("public_posting", "Niêm yết công khai", "Public posting"),
    ("vneid", "VNeID", "VNeID"),
    ("paper", "Giấy", "Paper"),
    ("agree", "Đồng ý", "Agree"),
    ("disagree", "Không đồng ý", "Disagree"),
    ("completed", "Đã thi hành xong", "Completed"),
    ("partly_completed", "Thi hành được một phần", "Partly completed"),
    ("not_yet_enforceable", "Chưa có điều kiện thi hành", "Not yet enforceable"),
    ("exempted", "Miễn", "Exempted"),
    ("reduced", "Giảm", "Reduced"),
    ("refused", "Không chấp nhận", "Refused"),
    ("seize_property", "Kê biên tài sản", "Seize property"),
    ("evict", "Buộc giao nhà, chuyển quyền sử dụng đất", "Eviction"),
    ("hand_over_property", "Buộc giao tài sản", "Hand over property"),
    ("deduct_account", "Khấu trừ tài khoản", "Deduct from an account"),
    ("other", "Khác", "Other"),
    ("standard", "Thông thường", "Standard"),
    ("immediate", "Thi hành ngay", "Immediate"),
    ("urgent_measure", "Biện pháp khẩn cấp tạm thời", "Urgent interim measure"),
    (
        "prisoner_two_years_or_more",
        "Người phải thi hành án đang chấp hành hình phạt tù từ 2 năm",
        "Obligor imprisoned two years or more",
    ),
    ("unknown_address", "Không rõ địa chỉ", "Address unknown"),
];

impl Lang {
    /// What was done to an account, as the admin page names it.
    pub fn account_action(self, action: &str) -> String {
        let (vi, en) = match action {
            "added" => ("Tạo tài khoản", "Added"),
            "disabled" => ("Khóa tài khoản", "Disabled"),
            "enabled" => ("Mở lại tài khoản", "Enabled"),
            "password_set" => ("Đặt mật khẩu mới", "New password"),
            "password_changed" => ("Người dùng tự đổi mật khẩu", "Password changed by its user"),
            "add_requested" => ("Đề nghị tạo tài khoản", "Account requested"),
            "reset_requested" => ("Đề nghị đặt lại mật khẩu", "Password reset requested"),
            "approved" => ("Phê duyệt đề nghị", "Request approved"),
            "declined" => ("Từ chối đề nghị", "Request declined"),
            "signed_in" => ("Đăng nhập", "Signed in"),
            "refused" => ("Đăng nhập bị từ chối", "Sign-in refused"),
            "locked" => ("Tạm khóa do sai nhiều lần", "Locked after failures"),
            "refused_locked" => ("Đăng nhập khi đang tạm khóa", "Sign-in while locked"),
            other => (other, other),
        };
        self.pick(vi, en).to_owned()
    }

    /// A choice of a definition, named in this language.
    pub fn option(self, value: &str) -> String {
        OPTIONS.iter().find(|(k, _, _)| *k == value).map_or_else(
            || value.to_owned(),
            |(_, vi, en)| match self {
                Lang::Vi => (*vi).to_owned(),
                Lang::En => (*en).to_owned(),
            },
        )
    }

    /// The language the request asks for: the cookie's, Vietnamese by default.
    pub fn of(req: &HttpRequest) -> Self {
        match req.cookie(LANG_COOKIE).as_ref().map(|c| c.value()) {
            Some("en") => Lang::En,
            _ => Lang::Vi,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The other language, which the switch offers.
    pub fn other(self) -> Self {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }

    /// The short name of a weekday, Monday being 0.
    pub fn weekday(self, monday_based: usize) -> &'static str {
        const VI: [&str; 7] = ["Thứ 2", "Thứ 3", "Thứ 4", "Thứ 5", "Thứ 6", "Thứ 7", "CN"];
        const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let days = if self == Lang::Vi { VI } else { EN };
        days[monday_based % 7]
    }

    /// The text of `key` in this language; the key itself if there is none (a test checks
    /// that every key the console uses has one).
    pub fn t(self, key: &'static str) -> &'static str {
        TEXTS.iter().find(|(k, _, _)| *k == key).map_or(key, |(_, vi, en)| match self {
            Lang::Vi => vi,
            Lang::En => en,
        })
    }

    /// One of two texts a definition gives, Vietnamese or English.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En if en.is_empty() => vi,
            Lang::En => en,
        }
    }

    /// A sum of money: `1.302.149.296.000` in Vietnamese, `1,302,149,296,000` in English.
    pub fn money(self, raw: &str) -> String {
        let Ok(value) = raw.parse::<Decimal>() else { return raw.to_owned() };
        let (group, point) = match self {
            Lang::Vi => ('.', ','),
            Lang::En => (',', '.'),
        };
        let text = value.normalize().abs().to_string();
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let mut out = String::new();
        if value.is_sign_negative() && !value.is_zero() {
            out.push('-');
        }
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                out.push(group);
            }
            out.push(digit);
        }
        if !fraction.is_empty() {
            out.push(point);
            out.push_str(fraction);
        }
        out
    }

    /// Reads a sum typed as this language writes it (`1.302.149.296.000,5` in Vietnamese) into
    /// a decimal string; what is not a number is given back as typed, for the check to refuse.
    ///
    /// A separator of thousands out of place (`1.5` or `1000.50` in Vietnamese) is refused: it
    /// is a number written the other language's way, and read either way it could be wrong.
    pub fn read_money(self, typed: &str) -> Result<String, String> {
        let (group, point) = match self {
            Lang::Vi => ('.', ','),
            Lang::En => (',', '.'),
        };
        let compact: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        let (whole, fraction) = match compact.split_once(point) {
            Some((w, f)) => (w, Some(f)),
            None => (compact.as_str(), None),
        };
        // Separators only between groups of three digits, the first of one to three.
        let groups: Vec<&str> = whole.trim_start_matches('-').split(group).collect();
        let grouped = groups.len() == 1
            || (!groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
        let mut cleaned = whole.replace(group, "");
        if let Some(f) = fraction {
            cleaned.push('.');
            cleaned.push_str(f);
        }
        if !grouped {
            return Err(match self {
                Lang::Vi => format!("{typed:?}: viết hàng nghìn bằng dấu chấm (1.000.000) và phần thập phân sau dấu phẩy (0,5)"),
                Lang::En => format!("{typed:?}: write thousands with commas (1,000,000) and decimals after a point (0.5)"),
            });
        }
        Ok(if cleaned.parse::<Decimal>().is_ok() { cleaned } else { typed.trim().to_owned() })
    }

    /// The language a posted form was written in (its hidden `lang`), if it names one.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// A day: `09/09/2026` in Vietnamese, `2026-09-09` in English.
    pub fn date(self, day: NaiveDate) -> String {
        match self {
            Lang::Vi => day.format("%d/%m/%Y").to_string(),
            Lang::En => day.format("%Y-%m-%d").to_string(),
        }
    }

    /// An instant given as RFC 3339, shown in Asia/Ho_Chi_Minh.
    pub fn time(self, rfc3339: &str) -> String {
        match DateTime::parse_from_rfc3339(rfc3339) {
            Ok(t) => {
                let local = t.with_timezone(&Ho_Chi_Minh);
                match self {
                    Lang::Vi => local.format("%H:%M %d/%m/%Y").to_string(),
                    Lang::En => local.format("%Y-%m-%d %H:%M").to_string(),
                }
            }
            Err(_) => rfc3339.to_owned(),
        }
    }

    /// A `YYYY-MM-DD` day as text, shown in this language.
    pub fn day(self, raw: &str) -> String {
        raw.parse::<NaiveDate>().map_or_else(|_| raw.to_owned(), |d| self.date(d))
    }
}

/// Every key the table holds.
pub fn keys() -> impl Iterator<Item = &'static str> {
    TEXTS.iter().map(|(k, _, _)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_and_read_as_each_language_writes_it() {
        assert_eq!(Lang::Vi.money("1302149296000"), "1.302.149.296.000");
        assert_eq!(Lang::En.money("1302149296000"), "1,302,149,296,000");
        assert_eq!(Lang::Vi.money("1302149295999.99"), "1.302.149.295.999,99");
        assert_eq!(Lang::Vi.money("950"), "950");
        assert_eq!(Lang::Vi.money("-1000"), "-1.000");
        assert_eq!(Lang::Vi.read_money("1.302.149.296.000").unwrap(), "1302149296000");
        assert_eq!(Lang::Vi.read_money(" 15.000.000,5 ").unwrap(), "15000000.5");
        assert_eq!(Lang::En.read_money("15,000,000.5").unwrap(), "15000000.5");
        assert_eq!(Lang::Vi.read_money("-1.000,25").unwrap(), "-1000.25");
        assert_eq!(Lang::Vi.read_money("1500").unwrap(), "1500");
        // What is not a number is passed on as typed, for the step's check to refuse.
        assert_eq!(Lang::Vi.read_money("mười lăm").unwrap(), "mười lăm");
        // A separator out of place is refused: it may be a decimal written the other way.
        for typed in ["1.50.000", "1.5", "1000.50", ".500"] {
            assert!(Lang::Vi.read_money(typed).is_err(), "{typed}");
        }
        assert!(Lang::En.read_money("1,5").is_err());
        assert_eq!(Lang::Vi.date(NaiveDate::from_ymd_opt(2026, 9, 9).unwrap()), "09/09/2026");
        assert_eq!(Lang::Vi.time("2026-12-01T01:30:00Z"), "08:30 01/12/2026");
    }

    #[test]
    fn every_key_has_both_languages() {
        let mut seen = std::collections::BTreeSet::new();
        for (key, vi, en) in TEXTS {
            assert!(seen.insert(*key), "{key} twice");
            assert!(!vi.is_empty() && !en.is_empty(), "{key}");
        }
    }
}
