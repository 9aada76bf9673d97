"""One window (一窗受理): service items, applications (cases), parallel review, 一件事 bundles, automatic approval, 好差评 and measures."""
