//! The face image a validate call may return.
//!
//! The content type is sniffed from the image's magic bytes, never taken from the field name:
//! iProov has sent JPEG in `frame` as well as in `frame_jpeg`, and the image is stored and later
//! served with this type, so a wrong label would make a wrong (or unsafe) object.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A decoded face image, PNG or JPEG.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The image bytes.
    pub bytes: Vec<u8>,
    /// `image/png` or `image/jpeg`, as read from the bytes.
    pub content_type: &'static str,
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
const JPEG_MAGIC: &[u8] = b"\xff\xd8\xff";

/// Padding is optional in what iProov (or a proxy) may send; accept both.
const TOLERANT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_TOLERANT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, TOLERANT);
const URL_SAFE_TOLERANT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, TOLERANT);

impl Frame {
    /// Accepts bytes that are a PNG or a JPEG image, and nothing else.
    pub fn from_image_bytes(bytes: Vec<u8>) -> Option<Self> {
        let content_type = if bytes.starts_with(PNG_MAGIC) {
            "image/png"
        } else if bytes.starts_with(JPEG_MAGIC) {
            "image/jpeg"
        } else {
            return None;
        };
        Some(Self {
            bytes,
            content_type,
        })
    }

    /// Decodes base64 text (standard or URL-safe alphabet, padded or not, line breaks and a
    /// `data:` URL prefix tolerated) into an image; `None` if it is not a PNG or JPEG.
    pub(crate) fn from_base64(text: &str) -> Option<Self> {
        let payload = match text.split_once(";base64,") {
            Some((prefix, rest)) if prefix.starts_with("data:") => rest,
            _ => text,
        };
        let compact: String = payload
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if compact.is_empty() {
            return None;
        }
        let bytes = STANDARD_TOLERANT
            .decode(&compact)
            .or_else(|_| URL_SAFE_TOLERANT.decode(&compact))
            .ok()?;
        Self::from_image_bytes(bytes)
    }
}

impl fmt::Debug for Frame {
    /// A face is biometric data: show its size and type, never its bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("len", &self.bytes.len())
            .field("content_type", &self.content_type)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn png() -> Vec<u8> {
        [PNG_MAGIC, b"rest-of-png\xfb\xff"].concat()
    }

    #[test]
    fn sniffs_png_and_jpeg_whatever_the_encoding_variant() {
        let jpeg = [JPEG_MAGIC, b"\xe0jfif\xfb\xff"].concat();
        assert_eq!(
            Frame::from_base64(&STANDARD.encode(png()))
                .unwrap()
                .content_type,
            "image/png"
        );
        assert_eq!(
            Frame::from_base64(&STANDARD.encode(&jpeg))
                .unwrap()
                .content_type,
            "image/jpeg"
        );
        assert_eq!(
            Frame::from_base64(&URL_SAFE_NO_PAD.encode(png()))
                .unwrap()
                .bytes,
            png()
        );
        let wrapped = format!("data:image/png;base64,{}\n", STANDARD.encode(png()));
        assert_eq!(Frame::from_base64(&wrapped).unwrap().bytes, png());
    }

    #[test]
    fn refuses_non_images_and_garbage() {
        assert!(Frame::from_base64(&STANDARD.encode(b"GIF89a....")).is_none());
        assert!(Frame::from_base64("***not base64***").is_none());
        assert!(Frame::from_base64("").is_none());
    }

    #[test]
    fn debug_shows_length_and_type_only() {
        let frame = Frame::from_image_bytes(png()).unwrap();
        assert_eq!(
            format!("{frame:?}"),
            format!(
                "Frame {{ len: {}, content_type: \"image/png\" }}",
                png().len()
            )
        );
    }
}
