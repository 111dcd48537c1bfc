//! Plain landmark geometry, shared by the quality gates and the liveness challenge. No
//! OpenCV types here, so that the liveness logic stays pure and testable on numbers.

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Point {
        Point { x, y }
    }

    fn sub(self, o: Point) -> Point {
        Point::new(self.x - o.x, self.y - o.y)
    }

    fn mid(self, o: Point) -> Point {
        Point::new((self.x + o.x) / 2.0, (self.y + o.y) / 2.0)
    }

    fn dot(self, o: Point) -> f32 {
        self.x * o.x + self.y * o.y
    }

    fn len(self) -> f32 {
        self.dot(self).sqrt()
    }
}

/// The five YuNet landmarks, named by the side of the *image* they appear on for a frontal
/// face (YuNet's "right eye" is the subject's right eye, which appears on the image's left).
/// Naming by image side avoids the mirror confusion in every formula below.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Landmarks {
    pub eye_left: Point,
    pub eye_right: Point,
    pub nose: Point,
    pub mouth_left: Point,
    pub mouth_right: Point,
}

impl Landmarks {
    /// In YuNet's (and `FaceRecognizerSF::alignCrop`'s) order.
    pub fn to_array(&self) -> [f32; 10] {
        let p = [
            self.eye_left,
            self.eye_right,
            self.nose,
            self.mouth_left,
            self.mouth_right,
        ];
        let mut out = [0.0; 10];
        for (i, q) in p.iter().enumerate() {
            out[2 * i] = q.x;
            out[2 * i + 1] = q.y;
        }
        out
    }

    pub fn from_array(a: [f32; 10]) -> Landmarks {
        let p = |i: usize| Point::new(a[2 * i], a[2 * i + 1]);
        Landmarks {
            eye_left: p(0),
            eye_right: p(1),
            nose: p(2),
            mouth_left: p(3),
            mouth_right: p(4),
        }
    }

    pub fn map(&self, f: impl Fn(Point) -> Point) -> Landmarks {
        Landmarks {
            eye_left: f(self.eye_left),
            eye_right: f(self.eye_right),
            nose: f(self.nose),
            mouth_left: f(self.mouth_left),
            mouth_right: f(self.mouth_right),
        }
    }

    pub fn eye_distance(&self) -> f32 {
        self.eye_right.sub(self.eye_left).len()
    }

    pub fn eye_center(&self) -> Point {
        self.eye_left.mid(self.eye_right)
    }

    /// Head pose read from the landmarks alone.
    ///
    /// Yaw is the nose's sideways offset from the face's midline (the line through the eye
    /// and mouth centres), in half eye distances. It is a *ratio* on purpose: a printed
    /// photo tilted in front of the camera is foreshortened uniformly, which leaves the
    /// ratio unchanged, while a real head turning moves the protruding nose against the
    /// flat eye-mouth plane.
    pub fn pose(&self) -> Pose {
        let eyes = self.eye_center();
        let mouth = self.mouth_left.mid(self.mouth_right);
        let across = self.eye_right.sub(self.eye_left);
        let eye_distance = across.len().max(1e-3);
        let u = Point::new(across.x / eye_distance, across.y / eye_distance);
        let v = Point::new(-u.y, u.x);
        // Coordinates in the face frame: u along the eyes, v down the face.
        let to_face = |p: Point| {
            let d = p.sub(eyes);
            (d.dot(u), d.dot(v))
        };
        let (nose_u, nose_v) = to_face(self.nose);
        let (mouth_u, mouth_v) = to_face(mouth);
        let mouth_v = if mouth_v.abs() < 1e-3 { 1e-3 } else { mouth_v };
        let t = nose_v / mouth_v;
        let midline_u = mouth_u * t;
        Pose {
            yaw: (nose_u - midline_u) / (eye_distance / 2.0),
            pitch: t,
            roll_deg: across.y.atan2(across.x).to_degrees(),
            eye_distance,
            mouth_ratio: mouth_v / eye_distance,
        }
    }
}

/// See [`Landmarks::pose`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// 0 when frontal; positive when the nose moves towards the image's right, which is the
    /// subject turning to their own left (the camera image is not mirrored).
    pub yaw: f32,
    /// Where the nose sits between the eye line (0) and the mouth line (1).
    pub pitch: f32,
    /// Angle of the eye line; 0 when level.
    pub roll_deg: f32,
    /// In pixels; the face's scale.
    pub eye_distance: f32,
    /// Eye-to-mouth height over eye distance; small when the head is pitched far.
    pub mouth_ratio: f32,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A synthetic face: eyes `d` apart centred on (`cx`, `cy`), the nose pushed sideways by
    /// `yaw` half eye distances.
    pub fn face(cx: f32, cy: f32, d: f32, yaw: f32) -> Landmarks {
        Landmarks {
            eye_left: Point::new(cx - d / 2.0, cy),
            eye_right: Point::new(cx + d / 2.0, cy),
            nose: Point::new(cx + yaw * d / 2.0, cy + 0.55 * d),
            mouth_left: Point::new(cx - 0.4 * d, cy + 1.1 * d),
            mouth_right: Point::new(cx + 0.4 * d, cy + 1.1 * d),
        }
    }

    #[test]
    fn frontal_face_has_zero_yaw_and_roll() {
        let p = face(100.0, 100.0, 60.0, 0.0).pose();
        assert!(p.yaw.abs() < 1e-4);
        assert!(p.roll_deg.abs() < 1e-4);
        assert!((p.pitch - 0.5).abs() < 1e-3);
        assert!((p.eye_distance - 60.0).abs() < 1e-3);
    }

    #[test]
    fn yaw_survives_in_plane_rotation_and_uniform_squeeze() {
        let f = face(100.0, 100.0, 60.0, 0.4);
        let (s, c) = 30f32.to_radians().sin_cos();
        let rotated = f.map(|p| {
            let (x, y) = (p.x - 100.0, p.y - 100.0);
            Point::new(100.0 + c * x - s * y, 100.0 + s * x + c * y)
        });
        assert!((rotated.pose().yaw - 0.4).abs() < 1e-3);
        assert!((rotated.pose().roll_deg - 30.0).abs() < 1e-3);
        // A flat photo turned away from the camera: every x shrinks by the same factor.
        let squeezed = f.map(|p| Point::new(100.0 + (p.x - 100.0) * 0.6, p.y));
        assert!((squeezed.pose().yaw - 0.4).abs() < 1e-3);
    }

    #[test]
    fn array_round_trip_keeps_yunet_order() {
        let f = face(10.0, 20.0, 8.0, 0.1);
        let a = f.to_array();
        assert_eq!(a[0], f.eye_left.x);
        assert_eq!(a[5], f.nose.y);
        assert_eq!(Landmarks::from_array(a), f);
    }
}
