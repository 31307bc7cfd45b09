from pathlib import Path

import numpy as np
import pytest

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.geometry.camera import Camera
from mvmocap.io.calibration import detect_format, load_cameras, load_rig, save_rig
from mvmocap.io.calibration.native import dumps
from tests.conftest import ring_cameras


def assert_same_cameras(a, b, atol=1e-9):
    assert [c.name for c in a] == [c.name for c in b]
    for x, y in zip(a, b):
        assert x.size == y.size
        for attr in ("K", "dist", "R", "t"):
            np.testing.assert_allclose(getattr(x, attr), getattr(y, attr), atol=atol, rtol=0, err_msg=f"{x.name}.{attr}")


def test_shared_demo_qca_loads_four_cameras_looking_at_the_origin(shared_demo):
    cams = load_cameras(shared_demo / "calibration" / "Calib.qca.txt")
    assert [c.name for c in cams] == ["cam01", "cam02", "cam03", "cam04"]
    for cam in cams:
        distance = np.linalg.norm(cam.center)
        assert 2.5 <= distance <= 5.0
        towards_origin = -cam.center / distance
        assert cam.viewing_direction @ towards_origin > 0.9  # within ~25 degrees
        assert cam.center[2] > 1.0  # mounted above the floor (+Z up)
        assert cam.size == (1088, 1920)
        assert 1600 < cam.K[0, 0] < 1750


def test_round_trip_qca_yaml_toml_yaml_easymocap_yaml(shared_demo, tmp_path):
    original = load_cameras(shared_demo / "calibration" / "Calib.qca.txt")
    save_rig(original, tmp_path / "a.yaml")
    save_rig(load_cameras(tmp_path / "a.yaml"), tmp_path / "b.toml")
    save_rig(load_cameras(tmp_path / "b.toml"), tmp_path / "c.yaml")
    save_rig(load_cameras(tmp_path / "c.yaml"), tmp_path / "easymocap")
    assert (tmp_path / "easymocap" / "intri.yml").is_file() and (tmp_path / "easymocap" / "extri.yml").is_file()
    save_rig(load_cameras(tmp_path / "easymocap"), tmp_path / "d.yaml")
    assert_same_cameras(original, load_cameras(tmp_path / "d.yaml"))


@pytest.mark.parametrize("name", ["cams.yaml", "cams.toml", "emc"])
def test_every_writer_round_trips_distorted_random_rigs(name, rng, tmp_path):
    cams = ring_cameras(5, rng)
    save_rig(cams, tmp_path / name)
    assert_same_cameras(cams, load_cameras(tmp_path / name))


def test_native_yaml_is_readable_and_versioned(rng, tmp_path):
    text = dumps(ring_cameras(2, rng))
    assert text.startswith("format: mvmocap-cameras/1\nunits: m\n")
    assert "world -> camera, metres" in text


def test_native_yaml_in_millimetres_is_converted(rng, tmp_path):
    cams = ring_cameras(2, rng)
    in_mm = [Camera(c.name, c.K, c.dist, c.R, c.t * 1000, c.size) for c in cams]
    text = dumps(in_mm).replace("units: m", "units: mm")
    (tmp_path / "mm.yaml").write_text(text)
    loaded = load_cameras(tmp_path / "mm.yaml")
    np.testing.assert_allclose(loaded[0].t, cams[0].t)


def test_metre_file_labelled_millimetres_is_refused(rng, tmp_path):
    text = dumps(ring_cameras(2, rng)).replace("units: m", "units: mm")
    (tmp_path / "mm.yaml").write_text(text)
    with pytest.raises(FileFormatError, match="mm.yaml: the cameras are at most .* mm apart: wrong units"):
        load_cameras(tmp_path / "mm.yaml")


def test_easymocap_without_size_guesses_it_with_a_warning(rng, tmp_path):
    save_rig(ring_cameras(2, rng), tmp_path / "emc")
    intri = tmp_path / "emc" / "intri.yml"
    intri.write_text("\n".join(l for l in intri.read_text().splitlines() if not l.startswith(("H_", "W_"))) + "\n")
    with pytest.warns(UserWarning, match="guessed"):
        cams = load_cameras(tmp_path / "emc")
    assert cams[0].size == (round(2 * cams[0].K[0, 2]), round(2 * cams[0].K[1, 2]))


def test_toml_in_millimetres_is_refused_unless_units_given(rng, tmp_path):
    cams = ring_cameras(2, rng)
    save_rig(cams, tmp_path / "m.toml")
    text = (tmp_path / "m.toml").read_text()
    # Rewrite translations in millimetres, as Anipose does.
    lines = []
    for line in text.splitlines():
        if line.startswith("translation = "):
            values = [float(v) * 1000 for v in line.split("[")[1].rstrip("]").split(",")]
            line = "translation = [" + ", ".join(repr(v) for v in values) + "]"
        lines.append(line)
    (tmp_path / "mm.toml").write_text("\n".join(lines))
    with pytest.warns(UserWarning, match="units='mm'"), pytest.raises(FileFormatError, match="m apart: wrong units"):
        load_cameras(tmp_path / "mm.toml")  # a rig kilometres wide is refused, not only warned about
    assert_same_cameras(cams, load_cameras(tmp_path / "mm.toml", units="mm"))


def test_format_detection(tmp_path):
    assert detect_format(Path("x.yaml")) == "native"
    assert detect_format(Path("x.toml")) == "toml"
    assert detect_format(Path("Calib.qca.txt")) == "qualisys"
    assert detect_format(Path("some/folder")) == "easymocap"
    assert detect_format(Path("some/intri.yml")) == "easymocap"
    with pytest.raises(InputError, match="cannot tell"):
        detect_format(Path("x.json"))


def _native_text(rng, **replace):
    text = dumps(ring_cameras(2, rng))
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    "content, message",
    [
        ("format: [\n", "malformed YAML"),
        ("just a string\n", "expected a YAML mapping"),
        ("format: other/2\ncameras: []\n", "'format' must be"),
        ("format: mvmocap-cameras/1\ncameras: {}\n", "'cameras' must be a list"),
        ("format: mvmocap-cameras/1\ncameras:\n  - name: a\n", "lacks size, K, R, t"),
    ],
)
def test_malformed_native_yaml(content, message, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(FileFormatError, match=message) as info:
        load_cameras(path)
    assert str(path) in str(info.value)


def test_invalid_camera_values_name_the_file(rng, tmp_path):
    cams = ring_cameras(2, rng)
    text = dumps(cams)
    bad_rotation = text.replace(repr(float(cams[0].R[0, 0])), repr(float(cams[0].R[0, 0]) + 0.01), 1)
    non_positive_focal = text.replace(f"K: [[{float(cams[0].K[0, 0])!r}", "K: [[-5.0", 1)
    duplicate = text.replace('"cam02"', '"cam01"')
    for content, message in [(bad_rotation, "not a rotation"), (non_positive_focal, "non-positive focal"), (duplicate, "duplicate camera names: cam01")]:
        path = tmp_path / "bad.yaml"
        path.write_text(content)
        with pytest.raises(FileFormatError, match=message) as info:
            load_cameras(path)
        assert str(path) in str(info.value)


def test_mirrored_rotation_is_refused(rng, tmp_path):
    cams = ring_cameras(1, rng)
    text = dumps(cams)
    lines = [l if not l.strip().startswith("R:") else "    R: [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]" for l in text.splitlines()]
    path = tmp_path / "mirror.yaml"
    path.write_text("\n".join(lines))
    with pytest.raises(FileFormatError, match="det"):
        load_cameras(path)


def test_malformed_toml_xml_and_easymocap(tmp_path):
    (tmp_path / "bad.toml").write_text("[cam_01\nname = 1")
    with pytest.raises(FileFormatError, match="malformed TOML"):
        load_cameras(tmp_path / "bad.toml")
    (tmp_path / "bad.qca.txt").write_text("<calibration><cameras><camera>")
    with pytest.raises(FileFormatError, match="malformed XML"):
        load_cameras(tmp_path / "bad.qca.txt")
    (tmp_path / "empty.qca.txt").write_text("<calibration/>")
    with pytest.raises(FileFormatError, match="no <camera>"):
        load_cameras(tmp_path / "empty.qca.txt")
    (tmp_path / "emc").mkdir()
    with pytest.raises(MissingFileError, match="intri.yml"):
        load_cameras(tmp_path / "emc")


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(MissingFileError, match="not found"):
        load_rig(tmp_path / "nope.yaml")
    (tmp_path / "x.yaml").write_text("")
    with pytest.raises(InputError, match="unknown calibration format"):
        load_rig(tmp_path / "x.yaml", format="blender")
    with pytest.raises(InputError, match="read only"):
        save_rig(ring_cameras(1, np.random.default_rng(0)), tmp_path / "out.qca.txt")


def test_writes_are_atomic_and_leave_no_temporary_files(rng, tmp_path):
    save_rig(ring_cameras(2, rng), tmp_path / "a.yaml")
    save_rig(ring_cameras(2, rng), tmp_path / "a.yaml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]
