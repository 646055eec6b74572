"""Entry point of the component package (PulumiPlugin.yaml): serve the library's components to other languages."""

from n8n_platform.provider import main

if __name__ == "__main__":
    main()
