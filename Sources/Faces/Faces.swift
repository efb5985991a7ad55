// Faces: MTCNN detection with landmarks, face crops and IoU tracking.
