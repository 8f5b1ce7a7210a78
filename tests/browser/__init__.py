"""Browser tests: the built site in Debian Chromium through Playwright."""
