//! The public verification page's second form: a scanned credential. The text of a
//! credential's QR code (`TRC1.…`, see [`crate::credential`]) is pasted, as a phone's
//! scanner app gives it, or the QR code's image is uploaded as a PNG (the file
//! `credential` writes, or a screenshot of it) and decoded here, in pure Rust (`png`, then
//! `rqrr`). The text goes to CheckCredential as a public caller at the browser's address
//! (the same per-address limiter as over gRPC), and the page shows exactly its answer: the
//! verdict, the facts the credential states when its signature is the registry's, what
//! changed, the revocation or loss date, and the key.

use maud::{html, Markup};

use crate::api::pb;
use crate::console::labels::{self, label, Labels};
use crate::console::layout::{FieldErrors, Fields, Lang};

/// The largest image read: a QR code's PNG is a few hundred pixels across, a phone's
/// screenshot of one a few million pixels. The image is decoded before CheckCredential's
/// per-address limiter sees the request, so what one anonymous request may cost is
/// bounded here (and by the decoder's allocation limit, [`MAX_DECODED_BYTES`]).
const MAX_PIXELS: u64 = 4_000_000;
/// The most the PNG decoder may allocate for one image.
const MAX_DECODED_BYTES: usize = 16 << 20;

pub(crate) const VERDICTS: Labels = &[
    (
        1,
        "有效：由本注册系统签发，所列信息均与现行记录一致",
        "Valid: signed by this registry, and every fact still holds",
    ),
    (
        2,
        "伪造：签名不符，内容被改动或并非本系统签发",
        "Forged: the signature does not match",
    ),
    (
        3,
        "未知密钥：不是以本系统现用密钥签发，无法在此核验",
        "Unknown key: not signed with this registry's key",
    ),
    (
        4,
        "已撤销：证书在签发后被撤销",
        "Revoked since it was issued",
    ),
    (
        5,
        "已失效：签发后信息有变，持证人需重新申领",
        "Superseded: facts have changed since; the holder needs a new one",
    ),
    (
        6,
        "证书号码不在记录中",
        "The certificate number is not on record",
    ),
    (7, "已丧失教师资格", "The holder has lost the qualification"),
];

/// The credential form as sent.
#[derive(Default)]
pub(crate) struct CredentialForm {
    pub(crate) form_token: String,
    pub(crate) credential: String,
    pub(crate) image: Option<Vec<u8>>,
}

/// Why an image gave no credential text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum QrProblem {
    NotPng,
    TooLarge,
    NoCode,
    Unreadable,
}

impl QrProblem {
    pub(crate) fn describe(&self, lang: Lang) -> &'static str {
        match self {
            QrProblem::NotPng => lang.t("不是 PNG 图片", "Not a PNG image"),
            QrProblem::TooLarge => lang.t("图片过大", "The image is too large"),
            QrProblem::NoCode => lang.t("图片中没有找到二维码", "No QR code found in the image"),
            QrProblem::Unreadable => lang.t("二维码无法识读", "The QR code cannot be read"),
        }
    }
}

/// The text of the (first) QR code in a PNG image.
pub(crate) fn decode_qr(png_bytes: &[u8]) -> Result<String, QrProblem> {
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(png_bytes),
        png::Limits {
            bytes: MAX_DECODED_BYTES,
        },
    );
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|_| QrProblem::NotPng)?;
    let (width, height) = {
        let info = reader.info();
        (info.width, info.height)
    };
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(QrProblem::TooLarge);
    }
    let mut pixels = vec![0; reader.output_buffer_size().ok_or(QrProblem::TooLarge)?];
    let frame = reader
        .next_frame(&mut pixels)
        .map_err(|_| QrProblem::NotPng)?;
    let channels = frame.color_type.samples();
    let (width, height) = (frame.width as usize, frame.height as usize);
    let luma = |x: usize, y: usize| -> u8 {
        let at = y * frame.line_size + x * channels;
        match channels {
            1 | 2 => pixels[at],
            _ => {
                let (r, g, b) = (
                    pixels[at] as u32,
                    pixels[at + 1] as u32,
                    pixels[at + 2] as u32,
                );
                ((r * 299 + g * 587 + b * 114) / 1000) as u8
            }
        }
    };
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
    let grids = image.detect_grids();
    let grid = grids.first().ok_or(QrProblem::NoCode)?;
    grid.decode()
        .map(|(_, text)| text)
        .map_err(|_| QrProblem::Unreadable)
}

/// The credential form, with its errors beside its fields, and the answer under it.
pub(crate) fn part(
    lang: Lang,
    form: &CredentialForm,
    errors: &FieldErrors,
    answer: Option<Markup>,
) -> Markup {
    let fields = Fields::new("qr", errors);
    let error = fields.error("image");
    html! {
        section aria-labelledby="qr-h" {
            h2 #qr-h { (lang.t("扫描电子证照二维码查验", "Check a scanned credential")) }
            p.hint { (lang.t(
                "用手机扫描证照上的二维码，将得到的文字（以 TRC1. 开头）粘贴到下面；或上传二维码的 PNG 图片。",
                "Scan the credential's QR code with a phone and paste the text it gives (starting TRC1.) below, or upload the QR code as a PNG image."
            )) }
            form.card #credential method="post" action="/verify/credential" enctype="multipart/form-data" novalidate {
                input type="hidden" name="form_token" value=(form.form_token);
                (fields.textarea(lang.t("二维码内容", "The QR code's text"), "credential", &form.credential))
                div.field {
                    label for="qr-image" { (lang.t("或二维码图片（PNG）", "Or the QR code's image (PNG)")) }
                    input #qr-image name="image" type="file" accept="image/png"
                        aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[error.map(|_| "qr-image-error")];
                    @if let Some(error) = error { span.error #qr-image-error { (error) } }
                }
                button type="submit" { (lang.t("查验证照", "Check the credential")) }
            }
            @if let Some(answer) = answer { (answer) }
        }
    }
}

/// What CheckCredential answered, and nothing more.
pub(crate) fn result(lang: Lang, answer: &pb::CheckCredentialResponse) -> Markup {
    html! {
        section.result aria-live="polite" {
            h2 { (lang.t("证照查验结果", "Credential check")) }
            p #verdict data-verdict=(answer.verdict) { (label(lang, VERDICTS, answer.verdict)) }
            @if let Some(f) = &answer.facts {
                dl #facts {
                    dt { (lang.t("证书号码", "Certificate number")) } dd { (f.certificate_number) }
                    dt { (lang.t("持证人", "Holder")) } dd { (f.holder_name) }
                    dt { (lang.t("资格种类", "Kind")) } dd { (label(lang, labels::CERTIFICATE_KINDS, f.kind)) }
                    dt { (lang.t("认定日期", "Certified on")) } dd { (f.certified_on) }
                    dt { (lang.t("认定机构", "Issuing authority")) } dd { (f.issuing_authority) }
                    dt { (lang.t("注册有效期至", "Registration valid until")) }
                    dd { @if f.registration_valid_until.is_empty() { "—" } @else { (f.registration_valid_until) } }
                    dt { (lang.t("签发密钥", "Signed with key")) } dd.code { (f.key_id) }
                }
            }
            @if !answer.changed_fields.is_empty() {
                p #changed { (lang.t("已变化的信息：", "Changed since: ")) (answer.changed_fields.join(", ")) }
            }
            @if !answer.revoked_on.is_empty() {
                p #revoked-on { (lang.t("撤销日期：", "Revoked on: ")) (answer.revoked_on) }
            }
            @if !answer.lost_on.is_empty() {
                p #lost-on { (lang.t("丧失日期：", "Lost on: ")) (answer.lost_on) }
            }
            @if let Some(key) = &answer.key {
                p.hint { (lang.t("本系统密钥：", "This registry's key: ")) span.code { (key.key_id) } }
            }
        }
    }
}
