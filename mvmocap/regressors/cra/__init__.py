"""CRA (cross-representation alignment): a single-view regressor from keypoint and dense evidence; see ``views.ViewBodies``."""
