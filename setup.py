"""Packaging glue: the web console lives at top level in console/ but ships as gatewayd.console."""
from setuptools import find_packages, setup

console_packages = ["gatewayd.console"] + [f"gatewayd.console.{p}" for p in find_packages("console")]

setup(
    packages=find_packages(include=["gatewayd", "gatewayd.*"]) + console_packages,
    package_dir={"gatewayd.console": "console"},
    package_data={
        "gatewayd": ["store/migrations/*.sql", "py.typed"],
        "gatewayd.console": ["templates/**/*", "static/**/*", "locales/*"],
    },
    include_package_data=False,
)
