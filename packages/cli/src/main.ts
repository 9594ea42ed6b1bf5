console.log("keypoints CLI: not built yet")
