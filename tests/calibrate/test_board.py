import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from mvmocap.calibrate.board import detect_board, parse_board
from mvmocap.calibrate.intrinsics import calibrate_board_intrinsics, calibrate_camera
from mvmocap.errors import InputError

K_TRUE = np.array([[600.0, 0, 322.0], [0, 600.0, 236.0], [0, 0, 1]])
SIZE = (640, 480)
PX_PER_SQUARE = 40


def _texture(cols=4, rows=7):
    """A checkerboard with (cols x rows) inner corners, white margin; 1 texture px = 1/PX_PER_SQUARE square."""
    squares_x, squares_y = cols + 1, rows + 1
    margin = PX_PER_SQUARE
    img = np.full((squares_y * PX_PER_SQUARE + 2 * margin, squares_x * PX_PER_SQUARE + 2 * margin), 255, np.uint8)
    for i in range(squares_y):
        for j in range(squares_x):
            if (i + j) % 2 == 0:
                y, x = margin + i * PX_PER_SQUARE, margin + j * PX_PER_SQUARE
                img[y:y + PX_PER_SQUARE, x:x + PX_PER_SQUARE] = 0
    return img, margin


def render_board(rvec, tvec, square=0.03):
    """The board seen by K_TRUE at pose (rvec, tvec); board origin = its first inner corner."""
    texture, margin = _texture()
    R, _ = cv2.Rodrigues(np.asarray(rvec, float))
    scale = square / PX_PER_SQUARE  # metres per texture pixel
    offset = margin + PX_PER_SQUARE - 0.5  # the first inner corner, texture pixel-centre coordinates
    to_board = np.array([[scale, 0, -offset * scale], [0, scale, -offset * scale], [0, 0, 1]])
    H = K_TRUE @ np.column_stack([R[:, 0], R[:, 1], tvec]) @ to_board
    return cv2.warpPerspective(texture, H, SIZE, borderValue=255)


POSES = [((0.2, -0.1, 0.05), (-0.05, -0.1, 0.5)), ((-0.3, 0.2, 0.1), (-0.02, -0.08, 0.45)),
         ((0.1, 0.35, -0.05), (-0.08, -0.12, 0.55)), ((-0.25, -0.3, 0.2), (0.0, -0.1, 0.5)),
         ((0.35, 0.1, -0.1), (-0.06, -0.05, 0.48)), ((0.05, -0.35, 0.0), (-0.04, -0.11, 0.6)),
         ((-0.15, 0.25, -0.2), (-0.1, -0.09, 0.52))]


def test_parse_board_specs_and_refusals():
    board = parse_board("checkerboard:4x7:0.060")
    assert (board.cols, board.rows, board.square_m) == (4, 7, 0.06)
    assert board.object_points().shape == (28, 3)
    assert parse_board("charuco:5x7:0.04:0.03:DICT_4X4_50").dictionary == "DICT_4X4_50"
    for bad in ("checkerboard:4x7", "chessboard:4x7:0.06", "checkerboard:4x7:60", "charuco:5x7:0.04:0.05:DICT_4X4_50",
                "charuco:5x7:0.04:0.03:DICT_NOPE"):
        with pytest.raises(InputError, match="--board"):
            parse_board(bad)


def test_board_is_detected_in_a_rendered_image():
    board = parse_board("checkerboard:4x7:0.030")
    image = render_board(*POSES[0])
    view = detect_board(image, board, "rendered")
    assert view is not None and view.corners.shape == (28, 2)
    R, _ = cv2.Rodrigues(np.asarray(POSES[0][0], float))
    cam = board.object_points() @ R.T + np.asarray(POSES[0][1])
    truth = (cam[:, :2] / cam[:, 2:]) * 600.0 + np.array([322.0, 236.0])
    # corners come in either traversal direction; compare as sets
    d = np.linalg.norm(view.corners[:, None] - truth[None], axis=-1).min(1)
    assert d.max() < 0.3
    assert detect_board(np.full((480, 640), 255, np.uint8), board) is None


def test_intrinsics_from_rendered_views_match_the_truth():
    board = parse_board("checkerboard:4x7:0.030")
    views = [detect_board(render_board(*pose), board, f"v{i}") for i, pose in enumerate(POSES)]
    assert all(v is not None for v in views)
    result = calibrate_camera("cam01", views, board, SIZE, len(views))
    assert abs(result.K[0, 0] / 600.0 - 1) < 0.01 and abs(result.K[1, 1] / 600.0 - 1) < 0.01
    assert abs(result.K[0, 2] - 322) < 5 and abs(result.K[1, 2] - 236) < 5
    assert result.rms_px < 0.5 and np.all(result.std[:4] > 0)


def _write_camera(folder, images):
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i:02d}.png"), image)


def test_a_camera_that_never_saw_the_board_is_refused_by_name(tmp_path):
    board = parse_board("checkerboard:4x7:0.030")
    _write_camera(tmp_path / "int_cam00_img", [np.full((480, 640), 200, np.uint8)] * 3)
    _write_camera(tmp_path / "int_cam01_img", [render_board(*p) for p in POSES[:5]])
    with pytest.raises(InputError, match="camera cam00: the board .* was not found in any of its 3 images"):
        calibrate_board_intrinsics(tmp_path, board)


def test_too_few_views_are_refused(tmp_path):
    board = parse_board("checkerboard:4x7:0.030")
    _write_camera(tmp_path / "cam01", [render_board(*p) for p in POSES[:3]])
    with pytest.raises(InputError, match="camera cam01: only 3 usable board views"):
        calibrate_board_intrinsics(tmp_path, board)


def test_cli_board_calibration_exit_codes(tmp_path):
    from mvmocap.cli.main import app

    _write_camera(tmp_path / "imgs" / "cam01", [render_board(*p) for p in POSES[:2]])
    runner = CliRunner()
    result = runner.invoke(app, ["calibrate", "--board", "checkerboard:4x7:0.030", "--images", str(tmp_path / "imgs"),
                                 "--out", str(tmp_path / "board.yaml")])
    assert result.exit_code == 2 and "only 2 usable board views" in result.output
    assert not (tmp_path / "board.yaml").exists()
    result = runner.invoke(app, ["calibrate", "--board", "checkerboard:4x7:0.030", "--out", str(tmp_path / "b.yaml")])
    assert result.exit_code == 2 and "--board SPEC and --images DIR" in result.output


def _look_at(centre, target):
    z = np.asarray(target, float) - centre
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, -1.0, 0.0])
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z])


def test_extrinsics_from_simultaneous_board_views(tmp_path):
    from mvmocap.calibrate.intrinsics import board_rig

    board = parse_board("checkerboard:4x7:0.030")
    centres = [np.array([0.0, 0.0, -0.5]), np.array([0.12, 0.02, -0.48])]
    target = np.array([0.045, 0.09, 0.0])  # the board's middle, world = board frame of moment 0
    cams = [(_look_at(c, target), c) for c in centres]
    board_moves = [((0, 0, 0), (0, 0, 0)), ((0.2, -0.1, 0), (0.01, 0.0, 0.02)), ((-0.2, 0.15, 0.1), (-0.01, 0.01, 0.0)),
                   ((0.1, 0.25, -0.1), (0.0, -0.01, -0.02)), ((-0.25, -0.2, 0.05), (0.02, 0.01, 0.01)),
                   ]
    for c, (R_c, centre) in enumerate(cams):
        folder = tmp_path / f"cam{c + 1:02d}"
        folder.mkdir()
        for m, (rvec_m, t_m) in enumerate(board_moves):
            R_m = cv2.Rodrigues(np.asarray(rvec_m, float))[0]
            R_cb = R_c @ R_m
            t_cb = R_c @ (np.asarray(t_m) - centre)
            cv2.imwrite(str(folder / f"{m:02d}.png"), render_board(cv2.Rodrigues(R_cb)[0].ravel(), t_cb))
    results, rig, rms = board_rig(tmp_path, board, extrinsics=True)
    assert rms < 0.5
    # compare in the first camera's frame (the board's corner order fixes the world only up to its symmetry)
    got_C, got_R = rig.centers().numpy(), rig.R.numpy()
    R0 = cams[0][0]
    for c, (R_c, centre) in enumerate(cams):
        assert np.abs(got_R[0] @ (got_C[c] - got_C[0]) - R0 @ (centre - centres[0])).max() < 0.006  # metres (0.5 m away)
        relative_true, relative_got = R_c @ R0.T, got_R[c] @ got_R[0].T
        angle = np.degrees(np.arccos(np.clip((np.trace(relative_true.T @ relative_got) - 1) / 2, -1, 1)))
        assert angle < 0.5


def test_a_camera_never_seeing_the_board_with_the_others_is_refused():
    from mvmocap.calibrate.board_extrinsics import chain_cameras

    eye = np.eye(4)
    with pytest.raises(InputError, match="camera\\(s\\) cam03 never saw the board at the same moment"):
        chain_cameras([{"01": eye, "02": eye}, {"02": eye}, {"07": eye}], ["cam01", "cam02", "cam03"])


# --- ChArUco: a board rendered from OpenCV's own image of it -------------------------------------------------------

CHARUCO_SPEC = "charuco:5x7:0.04:0.03:DICT_4X4_50"
CHARUCO_PX = 60  # texture pixels per square


def render_charuco(rvec, tvec, spec=CHARUCO_SPEC, occlude_right=0):
    """The ChArUco board of ``spec`` seen by K_TRUE at pose (rvec, tvec), in the frame of
    :meth:`Board.object_points` (origin = its first inner corner). ``occlude_right``: image columns
    from the right painted grey (a partly seen board)."""
    board = parse_board(spec)
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, board.dictionary))
    cv_board = cv2.aruco.CharucoBoard((board.cols, board.rows), board.square_m, board.marker_m, dictionary)
    margin = CHARUCO_PX
    texture = cv_board.generateImage((board.cols * CHARUCO_PX + 2 * margin, board.rows * CHARUCO_PX + 2 * margin),
                                     marginSize=margin)
    R, _ = cv2.Rodrigues(np.asarray(rvec, float))
    scale = board.square_m / CHARUCO_PX
    offset = margin + CHARUCO_PX - 0.5  # first inner corner in texture pixel-centre coordinates
    to_board = np.array([[scale, 0, -offset * scale], [0, scale, -offset * scale], [0, 0, 1]])
    H = K_TRUE @ np.column_stack([R[:, 0], R[:, 1], tvec]) @ to_board
    image = cv2.warpPerspective(texture, H, SIZE, flags=cv2.INTER_AREA, borderValue=255)
    if occlude_right:
        image[:, SIZE[0] - occlude_right:] = 128
    return image


def _project(board, ids, rvec, tvec):
    R, _ = cv2.Rodrigues(np.asarray(rvec, float))
    cam = board.object_points()[ids] @ R.T + np.asarray(tvec)
    return cam[:, :2] / cam[:, 2:] * K_TRUE[0, 0] + K_TRUE[:2, 2]


CHARUCO_POSES = [((0.2, -0.1, 0.05), (-0.06, -0.1, 0.55)), ((-0.3, 0.2, 0.1), (-0.03, -0.09, 0.5)),
                 ((0.1, 0.35, -0.05), (-0.09, -0.13, 0.6)), ((-0.25, -0.3, 0.2), (-0.01, -0.11, 0.55)),
                 ((0.35, 0.1, -0.1), (-0.07, -0.06, 0.53)), ((0.05, -0.35, 0.0), (-0.05, -0.12, 0.65)),
                 ((-0.15, 0.25, -0.2), (-0.11, -0.1, 0.57))]


def test_charuco_corners_are_found_with_their_ids_even_when_the_board_is_partly_hidden():
    board = parse_board(CHARUCO_SPEC)
    rvec, tvec = CHARUCO_POSES[0]
    full = detect_board(render_charuco(rvec, tvec), board, "full")
    assert full is not None and sorted(full.ids.tolist()) == list(range(24))  # (5-1) x (7-1) inner corners
    # OpenCV's ChArUco corners are ~0.2-0.45 px off here (vs < 0.1 px for the checkerboard); a wrong id is tens of px
    assert np.abs(full.corners - _project(board, full.ids, rvec, tvec)).max() < 0.75
    # hide the right part of the board: a subset of the corners, each still with its own id
    truth_all = _project(board, np.arange(24), rvec, tvec)
    cut = int(SIZE[0] - np.quantile(truth_all[:, 0], 0.75)) - 5
    part = detect_board(render_charuco(rvec, tvec, occlude_right=cut), board, "part")
    assert part is not None and 6 <= len(part.ids) < 24
    assert np.all(truth_all[part.ids, 0] < SIZE[0] - cut)  # only corners left of the occluder
    assert np.abs(part.corners - _project(board, part.ids, rvec, tvec)).max() < 0.75


def test_charuco_intrinsics_from_rendered_views_match_the_truth():
    board = parse_board(CHARUCO_SPEC)
    views = [detect_board(render_charuco(*pose), board, f"v{i}") for i, pose in enumerate(CHARUCO_POSES)]
    assert all(v is not None for v in views)
    result = calibrate_camera("cam01", views, board, SIZE, len(views))
    assert abs(result.K[0, 0] / K_TRUE[0, 0] - 1) < 0.01 and abs(result.K[1, 1] / K_TRUE[1, 1] - 1) < 0.01
    assert abs(result.K[0, 2] - K_TRUE[0, 2]) < 5 and abs(result.K[1, 2] - K_TRUE[1, 2]) < 5
    assert result.rms_px < 0.5 and np.all(result.std[:4] > 0)


def test_charuco_never_seen_is_refused_by_name(tmp_path):
    board = parse_board(CHARUCO_SPEC)
    # a checkerboard is not a ChArUco board: no markers, so no ChArUco corners
    _write_camera(tmp_path / "cam00", [render_board(*p) for p in POSES[:3]])
    _write_camera(tmp_path / "cam01", [render_charuco(*p) for p in CHARUCO_POSES[:5]])
    with pytest.raises(InputError, match="camera cam00: the board \\(charuco 5x7\\) was not found in any of its 3 images"):
        calibrate_board_intrinsics(tmp_path, board)
    # the wrong dictionary finds no marker either
    wrong = parse_board("charuco:5x7:0.04:0.03:DICT_5X5_50")
    assert detect_board(render_charuco(*CHARUCO_POSES[0]), wrong) is None


def test_cli_charuco_board_calibration_writes_the_intrinsics(tmp_path):
    from mvmocap.cli.main import app
    from mvmocap.io.calibration import load_rig

    _write_camera(tmp_path / "imgs" / "cam01", [render_charuco(*p) for p in CHARUCO_POSES])
    result = CliRunner().invoke(app, ["calibrate", "--board", CHARUCO_SPEC, "--images", str(tmp_path / "imgs"),
                                      "--out", str(tmp_path / "board.yaml")])
    assert result.exit_code == 0, result.output
    K = load_rig(tmp_path / "board.yaml").K.numpy()[0]
    assert abs(K[0, 0] / K_TRUE[0, 0] - 1) < 0.01 and abs(K[0, 2] - K_TRUE[0, 2]) < 5
