"""dr-constructs: AWS CDK v2 constructs for a single-region, Multi-AZ disaster-recovery stack."""

__version__ = "0.1.0"

__all__ = ["__version__"]
