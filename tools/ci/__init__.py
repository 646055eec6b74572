"""CI gates: the checks that pass or fail a change, over what the program would apply.

- ``gates``: every Kubernetes object against the official schemas and its CRD (``crds``: the real CRD schemas at the
  pinned releases), checkov over the manifests, and no secret value in what we write.
- ``tfplan``: the AWS resources as a Terraform plan, scanned by checkov's Terraform rules.
- ``policy_check``: the policy pack over the offline plan (``make policy``).
- ``affected_stacks``: which stacks a change previews and deploys (the workflows run it; standard library only).
"""
