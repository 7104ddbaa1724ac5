"""The app's screens: chat, papers, brief, and the modals they open."""
