//! The audible alert for a new P1 call: a short two-tone beep played by the
//! system's sound player, off the UI thread.

use std::sync::OnceLock;

/// A 0.4 s two-tone WAV, made once.
fn wav() -> &'static [u8] {
    static WAV: OnceLock<Vec<u8>> = OnceLock::new();
    WAV.get_or_init(|| {
        let rate = 16_000u32;
        let samples: Vec<i16> = (0..rate * 2 / 5)
            .map(|n| {
                let t = n as f32 / rate as f32;
                let f = if t < 0.2 { 880.0 } else { 660.0 };
                ((t * f * std::f32::consts::TAU).sin() * 9000.0) as i16
            })
            .collect();
        let data_len = (samples.len() * 2) as u32;
        let mut out = Vec::with_capacity(44 + data_len as usize);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * 2).to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        for s in samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    })
}

/// Plays the alert if a player (`paplay`, `aplay`, `afplay`) is there; never blocks.
pub fn beep() {
    let spawned = std::thread::Builder::new().name("p1-alert".into()).spawn(|| {
        let path = std::env::temp_dir().join("jiejing-p1-alert.wav");
        if std::fs::write(&path, wav()).is_err() {
            return;
        }
        for player in ["paplay", "aplay", "afplay"] {
            let ok = std::process::Command::new(player)
                .arg(&path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("cannot play the P1 alert: {e}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_alert_is_a_valid_wav() {
        let w = super::wav();
        assert_eq!(&w[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([w[40], w[41], w[42], w[43]]) as usize, w.len() - 44);
    }
}
