"""Stage between detections + cameras and the fit: who is who across views and over time.

    clusters = associate(people.keypoints, people.boxes, rig)      # per frame, cycle-consistent
    tracking = track(clusters, people.keypoints, people.boxes, rig)  # identities over time
    kept, dropped = select_tracks(tracking, max_people=2, min_track_frames=10)
    person = people.select(kept[0].slots)                           # a single-person Detections
"""

from mvmocap.associate.cross_view import AssociationConfig, Cluster, associate
from mvmocap.associate.tracking import Track, Track2D, Tracking, TrackingConfig, select_tracks, track

__all__ = ["AssociationConfig", "Cluster", "Track", "Track2D", "Tracking", "TrackingConfig", "associate",
           "select_tracks", "track"]
