#!/usr/bin/python3
"""tests/imaging/dicom_parity.py LOCALDX WORKDIR — DICOM decoding of `localdx preprocess` against
pydicom's pixel_array, on the DICOM files Debian's python3-pydicom ships.

Every image file pydicom decodes here (JPEG 2000 through its GDCM handler, python3-gdcm) is
decoded by `localdx preprocess --pixels` too and must give the same stored values: exactly for
lossless transfer syntaxes and JPEG 2000, within a stated tolerance for lossy JPEG (the two
libraries' inverse DCTs may round differently); or be refused with a reason. The files pydicom
reads and LocalDx refuses are listed below (REFUSED_THOUGH_PYDICOM_READS, with why), and the
test fails when that list changes either way. Damaged files (MR_truncated, rtplan_truncated, no
Pixel Data) must be refused with a reason, never crash. Prints one line per file and the table
docs/imaging.md gives.
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
             "SC_rgb_jpeg_gdcm", "SC_rgb_jpeg_lossy_gdcm", "SC_jpeg_no_color_transform", "image_dfl",
             # implicit VR under an explicit-VR transfer syntax (JPEG baseline): read again as
             # implicit VR once the strict read fails, as pydicom reads it (equal to the bit)
             "SC_rgb_jpeg",
             # JPEG 2000, lossless and lossy (OpenJPEG)
             "JPEG2000", "MR_small_jp2klossless", "693_J2KI", "GDCMJ2K_TextGBR", "J2K_pixelrep_mismatch",
             "SC_rgb_gdcm_KY",
             # 1 bit allocated (segmentation masks), uncompressed YBR_FULL_422
             "liver_1frame", "liver_expb_1frame", "SC_ybr_full_422_uncompressed",
             # 32 bits allocated: RT dose grids (big-endian and RLE too), and RGB with values up
             # to 2^32 - 1 (held exactly: LocalDx holds samples wider than 24 bits as doubles)
             "rtdose", "rtdose_1frame", "rtdose_expb", "rtdose_expb_1frame", "rtdose_rle", "rtdose_rle_1frame",
             "SC_rgb_rle_32bit", "SC_rgb_rle_32bit_2frame"}
# JPEG baseline files read through a fallback (implicit VR under an explicit-VR transfer
# syntax): kept only while their pixels equal pydicom's to the bit.
EXACT_JPEG = {"SC_rgb_jpeg"}
MUST_REFUSE = {"MR_truncated": "bad_dicom", "rtplan_truncated": "bad_dicom", "rtplan": "bad_dicom", "badVR": None}
# pydicom reads these and LocalDx refuses them, with the reason (docs/imaging.md lists them).
REFUSED_THOUGH_PYDICOM_READS = {
    # Damaged: 4 bytes of the codestream's SIZ marker overwritten; GDCM reports the same OpenJPEG
    # error and pydicom then returns pixels that are not the image (201,378 of 262,144 differ
    # from JPEG2000.dcm, of which it is a copy).
    "JPEG2000-embedded-sequence-delimiter": "damaged",
}


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


def pydicom_reads(path):
    """pydicom's pixels for the file, or the reason it cannot give them."""
    try:
        return reference(path), None
    except Exception as e:  # no handler here, damaged, not an image
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''}"


def transcode(src, dst, lossless):
    """src re-encoded as JPEG 2000 by GDCM (python3-gdcm), every frame."""
    import gdcm
    r = gdcm.ImageReader()
    r.SetFileName(src)
    if not r.Read():
        raise SystemExit(f"GDCM cannot read {src}")
    change = gdcm.ImageChangeTransferSyntax()
    kind = gdcm.TransferSyntax.JPEG2000Lossless if lossless else gdcm.TransferSyntax.JPEG2000
    change.SetTransferSyntax(gdcm.TransferSyntax(kind))
    change.SetInput(r.GetImage())
    if not change.Change():
        raise SystemExit(f"GDCM cannot re-encode {src}")
    w = gdcm.ImageWriter()
    w.SetFileName(dst)
    w.SetFile(r.GetFile())
    w.SetImage(change.GetOutput())
    if not w.Write():
        raise SystemExit(f"GDCM cannot write {dst}")


def multiframe_jpeg2000(cli, schema, work, failures):
    """Multi-frame JPEG 2000 files (none in pydicom's set): pydicom's 2-frame RGB file re-encoded by
    GDCM, lossless and lossy; every frame must equal pydicom's, and the lossless one the source."""
    checked = 0
    for stem in ("SC_rgb_rle_2frame",):
        source = pydicom.dcmread(os.path.join(DATA, stem + ".dcm")).pixel_array
        for lossless in (True, False):
            path = os.path.join(work, f"{stem}_j2k{'' if lossless else '_lossy'}.dcm")
            transcode(os.path.join(DATA, stem + ".dcm"), path, lossless)
            ref = pydicom.dcmread(path).pixel_array
            if lossless and not np.array_equal(ref, source):
                failures.append(f"{path}: GDCM's lossless JPEG 2000 is not lossless here")
            for frame in range(1, ref.shape[0] + 1):
                out = os.path.join(work, "multiframe.npy")
                code, err = localdx(cli, schema, path, out, frame)
                if code != 0:
                    failures.append(f"{os.path.basename(path)} frame {frame}: refused ({err})")
                    continue
                mine = np.load(out)[0]
                diff = float(np.max(np.abs(mine.astype(np.float64) - ref[frame - 1].reshape(mine.shape))))
                print(f"{'ok' if diff == 0 else 'DIFFERS':9} {os.path.basename(path)} frame {frame}: max |difference| {diff:g}")
                if diff != 0:
                    failures.append(f"{os.path.basename(path)} frame {frame}: max |difference| {diff:g}")
                checked += 1
    return checked


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
    failures = []
    same, both_refuse, only_we_refuse, unchecked = [], [], {}, []
    for name in sorted(os.listdir(DATA)):
        if not name.endswith(".dcm"):
            continue
        stem, path = name[:-4], os.path.join(DATA, name)
        out = os.path.join(work, stem + ".npy")
        code, err = localdx(cli, schema, path, out)
        ref, why_not = pydicom_reads(path)
        if code != 0:
            reason = err.splitlines()[-1] if err else ""
            print(f"refused   {stem}: {reason}")
            want = MUST_REFUSE.get(stem)
            if stem in MUST_READ:
                failures.append(f"{stem}: refused but must be read ({err})")
            elif want and want not in err and "cannot be" not in err:
                failures.append(f"{stem}: refused without a reason ({err})")
            if "cannot" not in err and "takes" not in err:
                failures.append(f"{stem}: the refusal does not say what is wrong ({err})")
            if ref is None:
                both_refuse.append(stem)
            else:
                only_we_refuse[stem] = reason
            continue
        if stem in MUST_REFUSE:
            failures.append(f"{stem}: read, but it must be refused")
        if ref is None:  # pydicom cannot decode it here: LocalDx's result is unchecked
            print(f"unchecked {stem}: pydicom cannot decode it here ({why_not})")
            unchecked.append(stem)
            continue
        ds, arr, frames, ts = ref
        equal = True
        for frame in range(1, min(frames, 2) + 1):
            if frame > 1:
                code, err = localdx(cli, schema, path, out, frame)
                if code != 0:
                    failures.append(f"{stem} frame {frame}: {err}")
                    equal = False
                    continue
            mine = np.load(out)[0]
            ref_frame = arr[frame - 1] if frames > 1 else arr
            ref_frame = ref_frame.reshape(mine.shape).astype(np.float64)
            diff = float(np.max(np.abs(mine.astype(np.float64) - ref_frame))) if ref_frame.size else 0.0
            tolerance = 2.0 if ts in LOSSY and stem not in EXACT_JPEG else 0.0
            status = "ok" if diff <= tolerance else "DIFFERS"
            print(f"{status:9} {stem} frame {frame}: {mine.shape}, max |difference| {diff:g} (tolerance {tolerance:g}, {ts})")
            if diff > tolerance:
                failures.append(f"{stem} frame {frame}: max |difference| {diff:g} > {tolerance:g}")
                equal = False
        if equal:
            same.append(stem)
    frames = multiframe_jpeg2000(cli, schema, work, failures)
    for m in sorted(MUST_READ - set(same)):
        failures.append(f"{m}: not read with pydicom's pixels")
    for stem, reason in only_we_refuse.items():
        want = REFUSED_THOUGH_PYDICOM_READS.get(stem, "?")
        if want not in reason:
            failures.append(f"{stem}: refused for another reason than '{want}': {reason}")
    if set(only_we_refuse) != set(REFUSED_THOUGH_PYDICOM_READS):
        failures.append("the files pydicom reads and LocalDx refuses changed: now " + ", ".join(sorted(only_we_refuse)) +
                        "; listed " + ", ".join(sorted(REFUSED_THOUGH_PYDICOM_READS)))
    total = len(same) + len(both_refuse) + len(only_we_refuse) + len(unchecked)
    print(f"\n| {total} files | count |\n|---|---|")
    print(f"| same pixels as pydicom | {len(same)} |")
    print(f"| refused by both, with a reason | {len(both_refuse)} |")
    print(f"| refused by LocalDx, read by pydicom | {len(only_we_refuse)} |")
    print(f"| read by LocalDx, not by pydicom here (unchecked) | {len(unchecked)} |")
    for stem, reason in sorted(only_we_refuse.items()):
        print(f"  refused, pydicom reads: {stem}: {reason}")
    print(f"multi-frame JPEG 2000 made by GDCM: {frames} frames, each equal to pydicom's")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
