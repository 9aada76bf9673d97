"""The resource catalog (政务信息资源目录): data elements, code lists, resources, data items and
the authoritative source of each datum (一数一源)."""
