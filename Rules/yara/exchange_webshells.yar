/*
   exhunt's own YARA rules for the web shells of the 2021 Exchange attacks (ProxyLogon and
   ProxyShell). Written for exhunt from public descriptions of the shells; no third-party rule
   text. Third-party sets are loaded with `exhunt hunt --yara DIR`.
*/

rule EXHUNT_ASPX_ChinaChopper_UnsafeEval
{
    meta:
        author = "exhunt"
        description = "JScript eval of request data with the 'unsafe' flag: the China Chopper server side"
        reference = "https://www.microsoft.com/en-us/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
        severity = "critical"
    strings:
        $eval = /eval\s*\(\s*Request\s*(\.\s*(Item|Form|QueryString)\s*)?[\[\(]\s*["'][^"'\r\n]{1,64}["']\s*[\]\)]\s*,\s*["']unsafe["']/ nocase ascii wide
        $script = "runat" nocase ascii wide
        // The classic one-line form: <%@ Page Language="Jscript"%><%eval(Request.Item["p"],"unsafe");%>
        $page = /<%@\s*Page\s+Language\s*=\s*["']?j?script/ nocase ascii wide
    condition:
        filesize < 2MB and $eval and ($script or $page)
}

rule EXHUNT_ASPX_PageLoad_Eval
{
    meta:
        author = "exhunt"
        description = "Page_Load handler that evaluates request data (China Chopper variants that drop the 'unsafe' flag)"
        reference = "https://www.volexity.com/blog/2021/03/02/active-exploitation-of-microsoft-exchange-zero-day-vulnerabilities/"
        severity = "critical"
    strings:
        $load = /function\s+Page_Load\s*\(\s*\)\s*\{[^}]{0,200}eval\s*\(\s*Request/ nocase ascii wide
    condition:
        filesize < 2MB and $load
}

rule EXHUNT_ASPX_OAB_VirtualDirectory_Dump_Script
{
    meta:
        author = "exhunt"
        description = "OAB virtual directory settings written to a file by Reset-OABVirtualDirectory, with a server-side script in ExternalUrl (CVE-2021-27065)"
        reference = "https://www.volexity.com/blog/2021/03/02/active-exploitation-of-microsoft-exchange-zero-day-vulnerabilities/"
        severity = "critical"
    strings:
        $url = /(External|Internal)Url\s*:[^\r\n]{0,80}<\s*script[^>]{0,80}runat\s*=\s*["']?server/ nocase ascii wide
        $oab1 = "OfflineAddressBooks" nocase ascii wide
        $oab2 = "PollInterval" nocase ascii wide
        $oab3 = "ExtendedProtectionTokenChecking" nocase ascii wide
    condition:
        filesize < 100KB and $url and 1 of ($oab*)
}

rule EXHUNT_ASPX_Base64_Loader
{
    meta:
        author = "exhunt"
        description = "ASP.NET page that decodes request data from base64 and loads or runs it (assembly loaders and encoded eval shells)"
        reference = "https://www.microsoft.com/en-us/security/blog/2021/03/25/analyzing-attacks-taking-advantage-of-the-exchange-server-vulnerabilities/"
        severity = "high"
    strings:
        $page = /<%@\s*(Page|WebHandler|WebService|Control|Master|Application)\b/ nocase ascii wide
        $script = /<script[^>]{0,80}runat\s*=\s*["']?server/ nocase ascii wide
        $b64 = "FromBase64String" nocase ascii wide
        $req1 = "Request.Form" nocase ascii wide
        $req2 = "Request.Item" nocase ascii wide
        $req3 = "Request[" nocase ascii wide
        $req4 = "Request.Headers" nocase ascii wide
        $run1 = "Assembly.Load" nocase ascii wide
        $run2 = "eval(" nocase ascii wide
        $run3 = "CreateInstance" nocase ascii wide
        $run4 = "Process.Start" nocase ascii wide
    condition:
        filesize < 1MB and ($page or $script) and $b64 and 1 of ($req*) and 1 of ($run*)
}

rule EXHUNT_ASPX_Command_Runner
{
    meta:
        author = "exhunt"
        description = "ASP.NET page that runs cmd.exe or PowerShell with request data (the second-stage shells dropped after ProxyLogon and ProxyShell)"
        reference = "https://www.microsoft.com/en-us/security/blog/2021/03/25/analyzing-attacks-taking-advantage-of-the-exchange-server-vulnerabilities/"
        severity = "high"
    strings:
        $page = /<%@\s*(Page|WebHandler|WebService|Control|Master|Application)\b/ nocase ascii wide
        $script = /<script[^>]{0,80}runat\s*=\s*["']?server/ nocase ascii wide
        $proc = "ProcessStartInfo" nocase ascii wide
        $shell1 = "cmd.exe" nocase ascii wide
        $shell2 = "powershell" nocase ascii wide
        $req1 = "Request.Form" nocase ascii wide
        $req2 = "Request.Item" nocase ascii wide
        $req3 = "Request.QueryString" nocase ascii wide
        $req4 = "Request[" nocase ascii wide
        $req5 = "Request.InputStream" nocase ascii wide
    condition:
        filesize < 1MB and ($page or $script) and $proc and 1 of ($shell*) and 1 of ($req*)
}

rule EXHUNT_Dropper_OneLiner_WebShell_Write
{
    meta:
        author = "exhunt"
        description = "Command line or script that writes a page with a server-side script into an Exchange or IIS web folder"
        reference = "https://www.microsoft.com/en-us/security/blog/2021/03/25/analyzing-attacks-taking-advantage-of-the-exchange-server-vulnerabilities/"
        severity = "high"
    strings:
        $write1 = "echo" nocase ascii wide
        $write2 = "Set-Content" nocase ascii wide
        $write3 = "Out-File" nocase ascii wide
        $write4 = "WriteAllText" nocase ascii wide
        $markup = /<script[^>]{0,80}runat|<%@\s*Page/ nocase ascii wide
        $dir1 = "aspnet_client" nocase ascii wide
        $dir2 = "\\owa\\auth\\" nocase ascii wide
        $dir3 = "\\ecp\\auth\\" nocase ascii wide
        $dir4 = "FrontEnd\\HttpProxy" nocase ascii wide
    condition:
        filesize < 1MB and 1 of ($write*) and $markup and 1 of ($dir*)
}

rule EXHUNT_XSLT_Script_Shell
{
    meta:
        author = "exhunt"
        description = "XSLT web shell: a stylesheet whose msxsl:script block starts processes, or a page that runs a stylesheet from the request with scripts enabled"
        reference = "https://learn.microsoft.com/en-us/dotnet/standard/data/xml/script-blocks-using-msxsl-script"
        severity = "critical"
    strings:
        $msxsl = "msxsl:script" nocase ascii wide
        $urn = "urn:schemas-microsoft-com:xslt" nocase ascii wide
        $proc1 = "ProcessStartInfo" nocase ascii wide
        $proc2 = "Process.Start" nocase ascii wide
        $proc3 = "Diagnostics.Process" nocase ascii wide
        $xform = "XslCompiledTransform" nocase ascii wide
        $trusted1 = "TrustedXslt" nocase ascii wide
        $trusted2 = /XsltSettings\s*\(\s*true\s*,\s*true\s*\)/ nocase ascii wide
        $req1 = "Request.Form" nocase ascii wide
        $req2 = "Request.Item" nocase ascii wide
        $req3 = "Request.QueryString" nocase ascii wide
        $req4 = "Request[" nocase ascii wide
        $req5 = "Request.InputStream" nocase ascii wide
    condition:
        filesize < 2MB and (($msxsl and $urn and 1 of ($proc*)) or ($xform and 1 of ($trusted*) and 1 of ($req*)))
}

rule EXHUNT_ASPX_Process_From_Request
{
    meta:
        author = "exhunt"
        description = "ASP.NET command shell in C# or VB.NET: a process started with what the request or a form field says, its output read back (whatever the shell is)"
        reference = "https://www.microsoft.com/en-us/security/blog/2021/03/25/analyzing-attacks-taking-advantage-of-the-exchange-server-vulnerabilities/"
        severity = "high"
    strings:
        $page = /<%@\s*(Page|WebHandler|WebService|Control|Master|Application)\b/ nocase ascii wide
        $script = /<script[^>]{0,80}runat\s*=\s*["']?server/ nocase ascii wide
        $proc1 = "ProcessStartInfo" nocase ascii wide
        $proc2 = /New\s+(System\.Diagnostics\.)?Process\s*(\(\s*\))?\s*[\r\n:]/ nocase ascii wide
        $proc3 = /new\s+(System\.Diagnostics\.)?Process\s*\(\s*\)/ nocase ascii wide
        $proc4 = "Process.Start(" nocase ascii wide
        $out = "RedirectStandardOutput" nocase ascii wide
        $req1 = "Request.Form" nocase ascii wide
        $req2 = "Request.Item" nocase ascii wide
        $req3 = "Request.QueryString" nocase ascii wide
        $req4 = "Request[" nocase ascii wide
        $req5 = /Request\s*\(\s*"/ nocase ascii wide
        $field = /<asp:TextBox[^>]{0,200}runat\s*=\s*["']?server/ nocase ascii wide
    condition:
        filesize < 1MB and ($page or $script) and 1 of ($proc*) and $out and (1 of ($req*) or $field)
}

rule EXHUNT_ASPX_Reflective_Loader
{
    meta:
        author = "exhunt"
        description = "ASP.NET page that loads an assembly from the request body or a request field and instantiates it (in-memory shells, with or without base64)"
        reference = "https://www.microsoft.com/en-us/security/blog/2021/03/25/analyzing-attacks-taking-advantage-of-the-exchange-server-vulnerabilities/"
        severity = "high"
    strings:
        $page = /<%@\s*(Page|WebHandler|WebService|Control|Master|Application)\b/ nocase ascii wide
        $script = /<script[^>]{0,80}runat\s*=\s*["']?server/ nocase ascii wide
        $load = /Assembly\s*\.\s*Load\s*\(/ nocase ascii wide
        $req1 = "Request.BinaryRead" nocase ascii wide
        $req2 = "Request.InputStream" nocase ascii wide
        $req3 = "Request.Form" nocase ascii wide
        $req4 = "Request.Item" nocase ascii wide
        $req5 = "Request[" nocase ascii wide
        $req6 = "Request.Cookies" nocase ascii wide
        $inst1 = "CreateInstance" nocase ascii wide
        $inst2 = "GetMethod" nocase ascii wide
        $inst3 = ".Invoke(" nocase ascii wide
    condition:
        filesize < 1MB and ($page or $script) and $load and 1 of ($req*) and 1 of ($inst*)
}

rule EXHUNT_ASPX_Upload_Or_File_Manager
{
    meta:
        author = "exhunt"
        description = "ASP.NET page that saves uploaded files where the request says, or browses and changes the server's folders for the requester (upload and file-manager shells)"
        reference = "https://www.microsoft.com/en-us/security/blog/2021/03/25/analyzing-attacks-taking-advantage-of-the-exchange-server-vulnerabilities/"
        severity = "high"
    strings:
        $page = /<%@\s*(Page|WebHandler|WebService|Control|Master|Application)\b/ nocase ascii wide
        $script = /<script[^>]{0,80}runat\s*=\s*["']?server/ nocase ascii wide
        $up1 = "Request.Files" nocase ascii wide
        $up2 = "PostedFile" nocase ascii wide
        $save = ".SaveAs(" nocase ascii wide
        $list1 = "GetDirectories" nocase ascii wide
        $list2 = "GetFiles" nocase ascii wide
        $change1 = "File.Delete" nocase ascii wide
        $change2 = "File.WriteAllBytes" nocase ascii wide
        $change3 = "File.Move" nocase ascii wide
        $change4 = "Directory.Delete" nocase ascii wide
        $req1 = "Request.Form" nocase ascii wide
        $req2 = "Request.Item" nocase ascii wide
        $req3 = "Request.QueryString" nocase ascii wide
        $req4 = "Request[" nocase ascii wide
    condition:
        filesize < 1MB and ($page or $script) and
        ((1 of ($up*) and $save and 1 of ($req*)) or (1 of ($list*) and 1 of ($change*) and 1 of ($req*)))
}

rule EXHUNT_ASPX_JScript_Eval_Obfuscated
{
    meta:
        author = "exhunt"
        description = "Server-side JScript that evaluates request data, with the China Chopper one-liner hidden: comments inside the call, the 'unsafe' flag split, escaped or decoded, the request read into a variable first"
        reference = "https://www.fireeye.com/blog/threat-research/2013/08/breaking-down-the-china-chopper-web-shell-part-i.html"
        severity = "critical"
    strings:
        $js1 = /<%@\s*(Page|WebHandler|WebService|Control)[^>]{0,200}Language\s*=\s*["']?J(ava)?Script/ nocase ascii wide
        $js2 = /<script[^>]{0,100}language\s*=\s*["']?J(ava)?Script[^>]{0,100}runat\s*=\s*["']?server/ nocase ascii wide
        $js3 = /<script[^>]{0,100}runat\s*=\s*["']?server[^>]{0,100}language\s*=\s*["']?J(ava)?Script/ nocase ascii wide
        // JScript is case-sensitive: `eval` is the function, `Eval(` is ASP.NET data binding.
        $eval = /eval\s*(\/\*[^*]{0,64}\*\/\s*)*\(/ ascii wide
        $req = /Request\s*(\/\*[^*]{0,64}\*\/\s*)*(\.\s*(Item|Form|QueryString|Params|Headers|Cookies)|\[|\()/ ascii wide
        $unsafe1 = /["']un["']\s*\+\s*["']safe["']/ nocase ascii wide
        $unsafe2 = /["'](\\x75|\\u0075)(\\x6e|\\u006e|n)/ nocase ascii wide
        $unsafe3 = /["']unsafe["']/ ascii wide
        $decode = "FromBase64String" ascii wide
    condition:
        filesize < 2MB and 1 of ($js*) and $eval and $req and
        (1 of ($unsafe*) or $decode or for any i in (1..#eval): ($req in (@eval[i]..@eval[i] + 300)))
}

rule EXHUNT_ASPX_Encrypted_Assembly_Loader
{
    meta:
        author = "exhunt"
        description = "ASP.NET page or handler that decrypts request data (AES/Rijndael, or a XOR loop) and loads it as an assembly: the in-memory shells of the Godzilla and Behinder families"
        reference = "https://www.microsoft.com/en-us/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
        severity = "critical"
    strings:
        $page = /<%@\s*(Page|WebHandler|WebService|Control|Master|Application)\b/ nocase ascii wide
        $script = /<script[^>]{0,80}runat\s*=\s*["']?server/ nocase ascii wide
        $load = /Assembly\s*\.\s*Load\s*\(/ nocase ascii wide
        $aes1 = "RijndaelManaged" nocase ascii wide
        $aes2 = "CreateDecryptor" nocase ascii wide
        $aes3 = "TransformFinalBlock" nocase ascii wide
        $aes4 = /Aes\s*\.\s*Create\s*\(/ nocase ascii wide
        // A byte-wise XOR with a key array: (byte)(d[i] ^ k[i + 1 & 15]).
        $xor = /\(byte\)\s*\(\s*\w{1,20}\s*\[[^\]]{1,20}\]\s*\^\s*\w{1,20}\s*\[/ nocase ascii wide
        $req1 = "Request.BinaryRead" nocase ascii wide
        $req2 = "Request.InputStream" nocase ascii wide
        $req3 = "Request.Form" nocase ascii wide
        $req4 = "Request.Item" nocase ascii wide
        $req5 = "Request[" nocase ascii wide
        $req6 = "Request.Cookies" nocase ascii wide
    condition:
        filesize < 1MB and ($page or $script) and $load and (1 of ($aes*) or $xor) and 1 of ($req*)
}

rule EXHUNT_ASMX_ASHX_Command_Service
{
    meta:
        author = "exhunt"
        description = "ASP.NET web service (.asmx) or handler (.ashx) whose web method or request handler runs a shell or a process and returns its output: a web shell answering SOAP or plain HTTP"
        reference = "https://learn.microsoft.com/en-us/previous-versions/dotnet/netframework-4.0/bb398986(v=vs.100)"
        severity = "high"
    strings:
        $svc1 = /<%@\s*WebService\b/ nocase ascii wide
        $svc2 = /<%@\s*WebHandler\b/ nocase ascii wide
        $svc3 = "[WebMethod" ascii wide
        $svc4 = "IHttpHandler" ascii wide
        $proc1 = "ProcessStartInfo" nocase ascii wide
        $proc2 = "Process.Start(" nocase ascii wide
        $proc3 = "Diagnostics.Process" nocase ascii wide
        $out = "RedirectStandardOutput" nocase ascii wide
        $shell1 = "cmd.exe" nocase ascii wide
        $shell2 = "powershell" nocase ascii wide
        $shell3 = "/c " nocase ascii wide
    condition:
        filesize < 1MB and 1 of ($svc*) and 1 of ($proc*) and $out and 1 of ($shell*)
}

rule EXHUNT_ASPX_SQL_Runner
{
    meta:
        author = "exhunt"
        description = "ASP.NET page or handler that opens a database connection whose connection string the request supplies and runs the request's SQL (database browsers dropped as shells)"
        reference = "https://www.microsoft.com/en-us/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
        severity = "high"
    strings:
        $page = /<%@\s*(Page|WebHandler|WebService|Control|Master|Application)\b/ nocase ascii wide
        $script = /<script[^>]{0,80}runat\s*=\s*["']?server/ nocase ascii wide
        $conn1 = /(Sql|OleDb|Odbc|Oracle|MySql)Connection\s*\(\s*((\w{1,20}\s*\.\s*)?Request\s*[\.\[\(]|\w{1,40}\s*\.\s*Text\b)/ nocase ascii wide
        $conn2 = /ConnectionString\s*=\s*((\w{1,20}\s*\.\s*)?Request\s*[\.\[\(]|\w{1,40}\s*\.\s*Text\b)/ nocase ascii wide
        $run1 = "ExecuteReader" nocase ascii wide
        $run2 = "ExecuteNonQuery" nocase ascii wide
        $run3 = "ExecuteScalar" nocase ascii wide
        $run4 = /DataAdapter\s*\(/ nocase ascii wide
    condition:
        filesize < 1MB and ($page or $script) and 1 of ($conn*) and 1 of ($run*)
}

rule EXHUNT_ASPX_Packet_Sniffer
{
    meta:
        author = "exhunt"
        description = "ASP.NET page or handler that opens a raw socket in receive-all mode: a packet sniffer run inside IIS to harvest credentials from the server's traffic"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.net.sockets.iocontrolcode"
        severity = "high"
    strings:
        $page = /<%@\s*(Page|WebHandler|WebService|Control|Master|Application)\b/ nocase ascii wide
        $script = /<script[^>]{0,80}runat\s*=\s*["']?server/ nocase ascii wide
        $raw = /SocketType\s*\.\s*Raw/ ascii wide
        $all1 = "ReceiveAll" ascii wide
        $all2 = /IOControl\s*\(/ ascii wide
    condition:
        filesize < 1MB and ($page or $script) and $raw and 1 of ($all*)
}
