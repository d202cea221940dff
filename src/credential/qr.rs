//! A credential's QR code as a PNG image, for printing or sending.
//!
//! The `qrcode` crate lays out the modules; the PNG is written here, because the image
//! crate its PNG output would bring is far larger than the forty lines a black-and-white
//! PNG takes: one bit per pixel, every row unfiltered, deflated with flate2, each chunk
//! with its CRC (both crates were already in the build).

use std::io::Write;

use qrcode::{Color, EcLevel, QrCode};

/// Pixels per module: a credential of about 400 characters is a version-15 code of 77
/// modules, so 680 pixels square with its quiet zone, sharp on paper and on a screen.
pub const MODULE_PIXELS: usize = 8;
/// The light margin around the code, in modules, that the QR standard asks for.
pub const QUIET_ZONE: usize = 4;

/// The QR code of `text` (error correction level M: 15% of the code may be damaged) as
/// a PNG. `None` if `text` is too long for any QR code (over about 2,300 bytes).
pub fn qr_png(text: &str) -> Option<Vec<u8>> {
    let code = QrCode::with_error_correction_level(text, EcLevel::M).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * MODULE_PIXELS;
    let dark = |x: usize, y: usize| {
        let (mx, my) = (x / MODULE_PIXELS, y / MODULE_PIXELS);
        let inside = QUIET_ZONE..QUIET_ZONE + modules;
        inside.contains(&mx)
            && inside.contains(&my)
            && colors[(my - QUIET_ZONE) * modules + (mx - QUIET_ZONE)] == Color::Dark
    };
    // Each row: filter type 0 (none), then the pixels, 8 a byte, first pixel in the high
    // bit, 1 for white (greyscale).
    let row_bytes = side.div_ceil(8);
    let mut raw = Vec::with_capacity(side * (1 + row_bytes));
    for y in 0..side {
        raw.push(0);
        for byte in 0..row_bytes {
            let mut bits = 0u8;
            for bit in 0..8 {
                let x = byte * 8 + bit;
                if x >= side || !dark(x, y) {
                    bits |= 0x80 >> bit;
                }
            }
            raw.push(bits);
        }
    }
    Some(png(side as u32, &raw))
}

/// A 1-bit greyscale PNG of `side` × `side` pixels from its unfiltered rows.
fn png(side: u32, rows: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    // Bit depth 1, colour type 0 (greyscale), deflate, standard filters, no interlace.
    header.extend_from_slice(&[1, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(rows).expect("writing to memory");
    chunk(
        &mut out,
        b"IDAT",
        &deflate.finish().expect("writing to memory"),
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Appends one chunk: length, type, data, and the CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_is_a_square_of_the_codes_size_with_valid_chunks() {
        let text = format!("TRC1.{}", "x".repeat(300));
        let png = qr_png(&text).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap()) as usize;
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap()) as usize;
        let modules = QrCode::with_error_correction_level(&text, EcLevel::M)
            .unwrap()
            .width();
        assert_eq!((width, height), ((modules + 8) * MODULE_PIXELS, width));
        // Every chunk's CRC matches.
        let mut at = 8;
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let body = &png[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc32fast::hash(body), crc);
            at += 12 + len;
        }
        assert_eq!(at, png.len());
        assert!(qr_png(&"x".repeat(3000)).is_none());
    }
}
