"""The Rust benchmark's pipeline, in Python with opencv-python-headless, for a side-by-side
latency figure: the same models, the same 640x480 frames, the same detection size, the
same YuNet decoding (vectorised with numpy, as a Python developer would write it), the same
alignment and SFace feature, on one thread.

Usage: python verify_py.py MODELS_DIR ROUNDS WARMUP IMAGE... ; prints one JSON line.
Nothing is written anywhere; frames live in memory.
"""

import json
import sys
import time

import cv2
import numpy as np

STRIDES = (8, 16, 32)
MAX_SIDE = 320
SCORE = 0.6
NMS = 0.3
TOP_K = 50


def letterbox(img, width=640, height=480):
    rows, cols = img.shape[:2]
    s = min(width / cols, height / rows)
    w = min(max(int(round(cols * s)), 1), width)
    h = min(max(int(round(rows * s)), 1), height)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    small = cv2.resize(img, (w, h), interpolation=interp)
    out = np.full((height, width, 3), 110, np.uint8)
    x, y = (width - w) // 2, (height - h) // 2
    out[y:y + h, x:x + w] = small
    return out


class YuNet:
    def __init__(self, path):
        self.net = cv2.dnn.readNetFromONNX(path)
        self.names = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES]

    def detect(self, bgr):
        h, w = bgr.shape[:2]
        scale = min(MAX_SIDE / max(w, h), 1.0)
        if scale < 1.0:
            small = cv2.resize(bgr, (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1)),
                               interpolation=cv2.INTER_AREA)
        else:
            small = bgr
        sh, sw = small.shape[:2]
        pw, ph = (sw + 31) // 32 * 32, (sh + 31) // 32 * 32
        padded = cv2.copyMakeBorder(small, 0, ph - sh, 0, pw - sw, cv2.BORDER_CONSTANT, value=0)
        self.net.setInput(cv2.dnn.blobFromImage(padded))
        outs = self.net.forward(self.names)
        faces = []
        for i, s in enumerate(STRIDES):
            cols, rows = pw // s, ph // s
            n = cols * rows
            cls = np.clip(outs[i].reshape(-1)[:n], 0, 1)
            obj = np.clip(outs[i + 3].reshape(-1)[:n], 0, 1)
            score = np.sqrt(cls * obj)
            keep = np.nonzero(score >= SCORE)[0]
            if keep.size == 0:
                continue
            bbox = outs[i + 6].reshape(-1, 4)[keep]
            kps = outs[i + 9].reshape(-1, 10)[keep]
            c = (keep % cols).astype(np.float32)
            r = (keep // cols).astype(np.float32)
            cx = (c + bbox[:, 0]) * s
            cy = (r + bbox[:, 1]) * s
            bw = np.exp(bbox[:, 2]) * s
            bh = np.exp(bbox[:, 3]) * s
            lm = np.empty_like(kps)
            lm[:, 0::2] = (kps[:, 0::2] + c[:, None]) * s
            lm[:, 1::2] = (kps[:, 1::2] + r[:, None]) * s
            block = np.column_stack([cx - bw / 2, cy - bh / 2, bw, bh, lm, score[keep]])
            faces.append(block)
        if not faces:
            return np.empty((0, 15), np.float32)
        faces = np.concatenate(faces).astype(np.float32)
        boxes = [[int(f[0]), int(f[1]), int(f[2]), int(f[3])] for f in faces]
        idx = cv2.dnn.NMSBoxes(boxes, faces[:, 14].tolist(), SCORE, NMS, top_k=TOP_K)
        idx = np.array(idx).reshape(-1)
        faces = faces[idx]
        faces[:, :14] /= scale
        # Best first; which face wins does not change the work done per frame.
        return faces[np.argsort(-faces[:, 14])]


def main():
    models, rounds, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cv2.setNumThreads(1)
    frames = []
    for p in sys.argv[4:]:
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        if img is not None:
            frames.append(letterbox(img))
    det = YuNet(f"{models}/face_detection_yunet_2023mar.onnx")
    rec = cv2.FaceRecognizerSF.create(f"{models}/face_recognition_sface_2021dec.onnx", "")

    def once(frame):
        t0 = time.perf_counter()
        faces = det.detect(frame)
        t1 = time.perf_counter()
        if len(faces):
            aligned = rec.alignCrop(frame, faces[0])
            rec.feature(aligned)
        t2 = time.perf_counter()
        return (t1 - t0) * 1000.0, (t2 - t1) * 1000.0

    for f in frames[:warmup]:
        once(f)
    times, dets, feats = [], [], []
    for _ in range(rounds):
        for f in frames:
            d, r = once(f)
            times.append(d + r)
            dets.append(d)
            feats.append(r)
    times.sort()
    dets.sort()
    feats.sort()
    n = len(times)
    print(json.dumps({
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "threads": cv2.getNumThreads(),
        "n": n,
        "p50_ms": times[n // 2] if n else None,
        "p95_ms": times[min(n - 1, max(0, -(-95 * n // 100) - 1))] if n else None,
        "mean_ms": sum(times) / n if n else None,
        "detect_p50_ms": dets[n // 2] if n else None,
        "feature_p50_ms": feats[n // 2] if n else None,
    }))


if __name__ == "__main__":
    main()
