from qabot.cli.main import main

main()
