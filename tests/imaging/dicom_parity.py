#!/usr/bin/python3
"""tests/imaging/dicom_parity.py LOCALDX WORKDIR — DICOM decoding of `localdx preprocess` against
pydicom's pixel_array, on the DICOM files Debian's python3-pydicom ships.

Every image file pydicom decodes here is decoded by `localdx preprocess --pixels` too and must
give the same stored values: exactly for lossless transfer syntaxes, within a stated tolerance for
lossy JPEG (the two libraries' inverse DCTs may round differently). Files LocalDx does not read
(JPEG 2000, 32-bit or 1-bit pixels, YBR_FULL_422) must be refused with a reason, never crash;
damaged files (MR_truncated, rtplan_truncated, no Pixel Data) too. Prints one line per file.
"""
import os
import subprocess
import sys

import numpy as np
import pydicom
import pydicom.config
from pydicom.pixel_data_handlers.util import convert_color_space

DATA = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}  # JPEG baseline, extended
# Files LocalDx must read, with the pixels pydicom gives (the list the docs state).
MUST_READ = {"CT_small", "MR_small", "MR_small_RLE", "MR_small_bigendian", "MR_small_expb", "MR_small_implicit",
             "MR_small_jpeg_ls_lossless", "MR_small_padded", "ExplVR_BigEnd", "JPEG-lossy", "JPGExtended",
             "SC_rgb_rle", "SC_rgb_rle_16bit", "SC_rgb_rle_2frame", "SC_rgb_rle_16bit_2frame", "SC_rgb_small_odd",
             "SC_rgb_dcmtk_+eb+cr", "SC_rgb_dcmtk_+eb+cy+n1", "SC_rgb_dcmtk_+eb+cy+s4", "SC_rgb_jpeg_dcmtk",
             "SC_rgb_jpeg_gdcm", "SC_rgb_jpeg_lossy_gdcm", "SC_jpeg_no_color_transform", "image_dfl"}
MUST_REFUSE = {"MR_truncated": "bad_dicom", "rtplan_truncated": "bad_dicom", "JPEG2000": "unsupported_dicom",
               "MR_small_jp2klossless": "unsupported_dicom", "SC_rgb_rle_32bit": "unsupported_dicom",
               "rtplan": "bad_dicom", "badVR": None}


def localdx(cli, schema, path, out, frame=1):
    r = subprocess.run([cli, "preprocess", "--schema", schema, "--image", path, "--out", out, "--pixels",
                        "--frame", str(frame)], capture_output=True, text=True, timeout=60)
    if r.returncode not in (0, 1):
        raise SystemExit(f"{path}: localdx preprocess crashed or misbehaved (exit {r.returncode}): {r.stderr}")
    return r.returncode, r.stderr.strip()


def reference(path):
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    photometric = ds.PhotometricInterpretation
    ts = str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in getattr(ds, "file_meta", {}) else ""
    # LocalDx gives colour as RGB: YBR_FULL converted; JPEG's YBR_FULL_422 is RGB once decoded.
    if photometric in ("YBR_FULL", "YBR_FULL_422") and arr.ndim >= 3 and arr.shape[-1] == 3:
        arr = convert_color_space(arr, "YBR_FULL", "RGB")
    return ds, arr, frames, ts


def main():
    cli, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    schema = os.path.join(work, "schema.json")
    with open(schema, "w") as f:
        f.write('{"task": "dicom-parity", "title": "DICOM parity", "outputs": {"kind": "binary", "column": "y", '
                '"positive": "1", "classes": [{"name": "0", "label": "no"}, {"name": "1", "label": "yes"}]}, '
                '"image": {"formats": ["dicom"], "tensor": {"name": "image", "layout": "NCHW", "channels": 1, '
                '"height": 32, "width": 32}, "preprocess": {"intensity": {"kind": "min_max"}, "resize": "area", '
                '"mean": [0], "std": [1]}}}')
    failures, read, refused = [], [], []
    for name in sorted(os.listdir(DATA)):
        if not name.endswith(".dcm"):
            continue
        stem, path = name[:-4], os.path.join(DATA, name)
        out = os.path.join(work, stem + ".npy")
        code, err = localdx(cli, schema, path, out)
        if code != 0:
            refused.append(stem)
            print(f"refused   {stem}: {err.splitlines()[-1] if err else ''}")
            want = MUST_REFUSE.get(stem)
            if stem in MUST_READ:
                failures.append(f"{stem}: refused but must be read ({err})")
            elif want and want not in err and "cannot be" not in err:
                failures.append(f"{stem}: refused without a reason ({err})")
            if "cannot" not in err and "takes" not in err:
                failures.append(f"{stem}: the refusal does not say what is wrong ({err})")
            continue
        if stem in MUST_REFUSE:
            failures.append(f"{stem}: read, but it must be refused")
        try:
            ds, arr, frames, ts = reference(path)
        except Exception as e:  # pydicom cannot decode it here (no handler): LocalDx's result is unchecked
            print(f"unchecked {stem}: pydicom cannot decode it here ({type(e).__name__})")
            continue
        for frame in range(1, min(frames, 2) + 1):
            if frame > 1:
                code, err = localdx(cli, schema, path, out, frame)
                if code != 0:
                    failures.append(f"{stem} frame {frame}: {err}")
                    continue
            mine = np.load(out)[0]
            ref = arr[frame - 1] if frames > 1 else arr
            ref = ref.reshape(mine.shape).astype(np.float64)
            diff = float(np.max(np.abs(mine.astype(np.float64) - ref))) if ref.size else 0.0
            tolerance = 2.0 if ts in LOSSY else 0.0
            status = "ok" if diff <= tolerance else "DIFFERS"
            print(f"{status:9} {stem} frame {frame}: {mine.shape}, max |difference| {diff:g} (tolerance {tolerance:g}, {ts})")
            if diff > tolerance:
                failures.append(f"{stem} frame {frame}: max |difference| {diff:g} > {tolerance:g}")
        read.append(stem)
    missing = MUST_READ - set(read)
    for m in sorted(missing):
        failures.append(f"{m}: not read")
    print(f"{len(read)} files read and compared, {len(refused)} refused with a reason")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
