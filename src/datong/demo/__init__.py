"""The demo province: a data bureau, seven departments, their staff and systems."""

from datong.demo.province import DEMO_PASSWORD, build_demo_province

__all__ = ["DEMO_PASSWORD", "build_demo_province"]
