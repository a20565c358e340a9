from dicomidx.cli.app import main

main()
