__title__ = "rapidhttp"
__description__ = "A fast HTTP client for Python with the API of httpx 0.28."
__version__ = "0.1.0"
