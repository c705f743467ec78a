//! The images validate returns must be real images. These checkers are written independently
//! of the encoders (bitwise CRC instead of a table, a stored-block inflater), so a shared
//! misunderstanding would have to be made twice to go unnoticed.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Kind, Sandbox};
use serde_json::json;

fn crc32_bitwise(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32_plain(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u64, 0u64);
    for &byte in bytes {
        a = (a + u64::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    ((b << 16) | a) as u32
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes.try_into().expect("4 bytes"))
}

/// Inflates a zlib stream made of stored blocks only, checking every length and the Adler-32.
fn inflate_stored(stream: &[u8]) -> Vec<u8> {
    let (cmf, flg) = (stream[0], stream[1]);
    assert_eq!(cmf & 0x0F, 8, "deflate");
    assert_eq!(
        (u16::from(cmf) * 256 + u16::from(flg)) % 31,
        0,
        "header check"
    );
    assert_eq!(flg & 0x20, 0, "no preset dictionary");
    let mut at = 2;
    let mut out = Vec::new();
    loop {
        let header = stream[at];
        assert_eq!((header >> 1) & 0b11, 0, "stored block");
        let len = u16::from_le_bytes([stream[at + 1], stream[at + 2]]);
        let nlen = u16::from_le_bytes([stream[at + 3], stream[at + 4]]);
        assert_eq!(len, !nlen, "LEN/NLEN");
        at += 5;
        out.extend_from_slice(&stream[at..at + usize::from(len)]);
        at += usize::from(len);
        if header & 1 == 1 {
            break;
        }
    }
    assert_eq!(be32(&stream[at..at + 4]), adler32_plain(&out), "Adler-32");
    assert_eq!(at + 4, stream.len(), "nothing after the trailer");
    out
}

/// Checks a PNG completely and returns its width, height and raw scanlines.
fn check_png(png: &[u8]) -> (u32, u32, Vec<u8>) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "signature");
    let mut at = 8;
    let mut chunks = Vec::new();
    let mut idat = Vec::new();
    while at < png.len() {
        let len = be32(&png[at..at + 4]) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        let crc = be32(&png[at + 8 + len..at + 12 + len]);
        assert_eq!(
            crc,
            crc32_bitwise(&png[at + 4..at + 8 + len]),
            "CRC of {kind:?}"
        );
        if kind == b"IDAT" {
            idat.extend_from_slice(data);
        }
        chunks.push((kind.to_vec(), data.to_vec()));
        at += 12 + len;
    }
    assert_eq!(at, png.len());
    let (first, ihdr) = &chunks[0];
    assert_eq!(first, b"IHDR");
    assert_eq!(ihdr.len(), 13);
    let (width, height) = (be32(&ihdr[0..4]), be32(&ihdr[4..8]));
    assert_eq!(&ihdr[8..], &[8, 2, 0, 0, 0], "8-bit RGB, no interlace");
    let (last, iend) = chunks.last().expect("chunks");
    assert_eq!(last, b"IEND");
    assert!(iend.is_empty());
    let raw = inflate_stored(&idat);
    let row = 1 + 3 * width as usize;
    assert_eq!(raw.len(), row * height as usize, "scanline bytes");
    assert!(raw.chunks(row).all(|line| line[0] <= 4), "filter types");
    (width, height, raw)
}

/// Walks a JPEG's markers: SOI, a baseline SOF0 of the given size, Huffman and quantisation
/// tables, a scan, and EOI with no stray 0xFF in the entropy data.
fn check_jpeg(jpeg: &[u8]) -> (u16, u16) {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "SOI");
    let mut at = 2;
    let mut size = None;
    let mut seen = Vec::new();
    loop {
        assert_eq!(jpeg[at], 0xFF, "marker at {at}");
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let payload = &jpeg[at + 4..at + 2 + len];
        seen.push(marker);
        if marker == 0xC0 {
            assert_eq!(payload[0], 8, "8-bit precision");
            let height = u16::from_be_bytes([payload[1], payload[2]]);
            let width = u16::from_be_bytes([payload[3], payload[4]]);
            size = Some((width, height));
        }
        at += 2 + len;
        if marker == 0xDA {
            break;
        }
    }
    let entropy = &jpeg[at..jpeg.len() - 2];
    assert!(!entropy.is_empty());
    assert!(!entropy.contains(&0xFF), "no unstuffed 0xFF");
    assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9], "EOI");
    for required in [0xE0, 0xDB, 0xC0, 0xC4, 0xDA] {
        assert!(seen.contains(&required), "marker {required:#x}");
    }
    size.expect("a baseline SOF0 segment")
}

async fn validated_frames(sandbox: &Sandbox, user_id: &str) -> serde_json::Value {
    let token = sandbox.issue(Kind::Enrol, user_id).await;
    sandbox.scan(&token, "passed").await;
    sandbox.validate(Kind::Enrol, user_id, &token).await.body
}

#[tokio::test]
async fn the_validate_frame_is_a_valid_64_by_64_png() {
    // GIVEN a passed enrolment
    let sandbox = Sandbox::new();

    // WHEN it is validated
    let answer = validated_frames(&sandbox, "user-1").await;

    // THEN the frame decodes to a 64×64 RGB PNG with correct checksums
    let png = STANDARD
        .decode(answer["frame"].as_str().expect("frame"))
        .expect("base64");
    let (width, height, raw) = check_png(&png);
    assert_eq!((width, height), (64, 64));
    assert!(raw.iter().any(|&byte| byte != raw[1]), "not a blank image");
}

#[tokio::test]
async fn different_claims_get_different_frames() {
    // GIVEN two passed enrolments
    let sandbox = Sandbox::new();

    // WHEN both are validated
    let first = validated_frames(&sandbox, "user-1").await;
    let second = validated_frames(&sandbox, "user-2").await;

    // THEN their frames differ, so a test can tell whose image was stored
    assert_ne!(first["frame"], second["frame"]);
}

#[tokio::test]
async fn jpeg_mode_adds_a_valid_baseline_jpeg() {
    // GIVEN JPEG frames
    let sandbox = Sandbox::new();
    sandbox
        .put("/sandbox/config", json!({ "frame": "jpeg" }))
        .await;

    // WHEN a passed enrolment is validated
    let answer = validated_frames(&sandbox, "user-1").await;

    // THEN frame_jpeg is a baseline JPEG of the same size, and frame is still a PNG
    let jpeg = STANDARD
        .decode(answer["frame_jpeg"].as_str().expect("frame_jpeg"))
        .expect("base64");
    assert_eq!(check_jpeg(&jpeg), (64, 64));
    let png = STANDARD
        .decode(answer["frame"].as_str().expect("frame"))
        .expect("base64");
    check_png(&png);
}

#[test]
fn the_encoders_handle_odd_and_degenerate_sizes() {
    // GIVEN sizes that are not multiples of 8, a single pixel, and a zero (raised to one)
    for (width, height) in [(1u16, 1u16), (13, 7), (0, 0), (300, 250)] {
        // WHEN images are generated
        let png = iproov_sandbox::png::gradient(width, height, [1, 2, 3]);
        let jpeg = iproov_sandbox::jpeg::uniform_gray(width, height);

        // THEN both are well-formed with the expected size
        let (w, h, _) = check_png(&png);
        assert_eq!((w, h), (u32::from(width.max(1)), u32::from(height.max(1))));
        assert_eq!(check_jpeg(&jpeg), (width.max(1), height.max(1)));
    }
}
